// The micro command: global flags and MICRO_* variables as upstream, one
// line on stderr and exit code 1 for any failure, never a stack trace.
import { Command, Option, CommanderError } from "commander";
import { FLAGS } from "../config/config.js";
import { newRuntime, closeRuntime, type GlobalOptions, type Runtime } from "./runtime.js";
import { listServices, getService, registerService, deregisterService } from "./registry.js";
import { call, health, stats, type CallFlags } from "./call.js";
import { apiCommand } from "./api.js";
import { webCommand } from "./web.js";

import { VERSION } from "./version.js";
export { VERSION };

const collect = (value: string, previous: string[] = []) => [...previous, value];

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, " ").trim() || "unknown error";
}

export function buildProgram(): Command {
  const program = new Command("micro")
    .description("A toolkit for go-micro compatible microservices, in TypeScript")
    .version(VERSION, "-v, --version")
    .showHelpAfterError("(run micro --help for usage)")
    .exitOverride();
  for (const flag of FLAGS) {
    // Booleans take an optional value, as upstream: --enable_tls, --enable_tls=false.
    const value = flag.kind === "bool" ? "[bool]" : flag.kind === "list" ? "<key=value>" : "<value>";
    const opt = new Option(`--${flag.name} ${value}`, flag.help).env(flag.env);
    if (flag.kind === "list") opt.argParser(collect);
    program.addOption(opt);
  }

  // Runs a command with a runtime; prints its output; one line on failure.
  type Action = (rt: Runtime, args: string[][] & string[], flags: CallFlags) => Promise<string>;
  const run = (fn: Action) =>
    async function (this: Command) {
      let rt: Runtime | undefined;
      try {
        rt = newRuntime(this.optsWithGlobals() as GlobalOptions);
        const out = await fn(rt, this.processedArgs as string[][] & string[], this.opts() as CallFlags);
        if (out) process.stdout.write(out + "\n");
      } catch (err) {
        process.stderr.write(oneLine(err) + "\n");
        process.exitCode = 1;
      } finally {
        if (rt) await closeRuntime(rt).catch(() => undefined);
      }
    };
  const addressFlag = () => new Option("--address <host:port>", "Set the address of the service instance to call").env("MICRO_ADDRESS");

  const list = program.command("list").description("List items in the registry");
  list.command("services").description("List services in the registry").action(run((rt) => listServices(rt)));

  const get = program.command("get").description("Get item from the registry");
  get.command("service <name>").description("Get a service from the registry").action(run((rt, [name]) => getService(rt, name as string)));

  const register = program.command("register").description("Register an item in the registry");
  register.command("service <json...>").description("Register a service with JSON definition")
    .action(run((rt, [parts]) => registerService(rt, (parts as string[]).join(" "))));
  const deregister = program.command("deregister").description("Deregister an item in the registry");
  deregister.command("service <json...>").description("Deregister a service with JSON definition")
    .action(run((rt, [parts]) => deregisterService(rt, (parts as string[]).join(" "))));

  program.command("call <service> <endpoint> [request...]")
    .description("Call a service e.g micro call greeter Say.Hello '{\"name\": \"John\"}'")
    .addOption(addressFlag())
    .addOption(new Option("-o, --output <format>", "Set the output format; json (default), raw").env("MICRO_OUTPUT"))
    .addOption(new Option("--metadata <key=value>", "A list of key-value pairs to be forwarded as metadata").env("MICRO_METADATA").argParser(collect))
    .action(run((rt, [service, endpoint, request], flags) => call(rt, service as string, endpoint as string, (request as string[] | undefined) ?? [], flags)));

  program.command("health <service>").description("Query the health of a service")
    .addOption(addressFlag())
    .action(run((rt, [service], flags) => health(rt, service as string, flags)));

  program.command("stats <service>").description("Query the stats of a service").action(run((rt, [service]) => stats(rt, service as string)));

  program.addCommand(apiCommand());
  program.addCommand(webCommand());
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed on one line
      return err.exitCode === 0 ? 0 : 1;
    }
    process.stderr.write(oneLine(err) + "\n");
    return 1;
  }
  return typeof process.exitCode === "number" ? process.exitCode : 0;
}
