// A client of the greeter: finds it in the registry and calls it, typed.
// `npx tsx examples/greeter/cli/main.ts [name]`
import { Service } from "../../../src/index.js";

const service = new Service({ name: "go.micro.cli.greeter", handleSignals: false });
try {
  const rsp = await service.client.call<{ msg: string }>("go.micro.srv.greeter", "Say.Hello", { name: process.argv[2] ?? "John" });
  console.log(rsp.msg);
} catch (err) {
  console.error(`error: ${String(err)}`);
  process.exitCode = 1;
} finally {
  await service.stop();
}
