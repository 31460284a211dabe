// micro web: the web proxy and dashboard (reference §6). Being built.
import { Command } from "commander";

export function webCommand(): Command {
  return new Command("web").description("Run the web dashboard").action(() => {
    throw new Error("micro web is not built yet");
  });
}
