// `npm run demo`: the greeter walkthrough on the embedded defaults (local
// registry, no server to install): three nodes, then the micro CLI against them.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { LocalRegistry } from "../../src/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const NODES = 3;
const say = (s: string) => process.stdout.write(s + "\n");

function micro(...args: string[]): void {
  say(`\n$ npx micro ${args.map((a) => (/[\s{"]/.test(a) ? `'${a}'` : a)).join(" ")}`);
  try {
    process.stdout.write(execFileSync(process.execPath, ["bin/micro.js", ...args], { cwd: root, encoding: "utf8", timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] }));
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    process.stdout.write((e.stdout ?? "") + (e.stderr ?? ""));
  }
}

const nodes: ChildProcess[] = [];
const stopAll = () => nodes.forEach((n) => n.exitCode === null && n.kill("SIGTERM"));
process.on("exit", stopAll);
const guard = setTimeout(() => {
  say("demo: timed out");
  stopAll();
  process.exit(1);
}, 60_000);

say(`Starting ${NODES} nodes of go.micro.srv.greeter (npx tsx examples/greeter/srv/main.ts)`);
const registry = new LocalRegistry();
const before = new Set(((await registry.getService("go.micro.srv.greeter"))[0]?.nodes ?? []).map((n) => n.id));
for (let i = 0; i < NODES; i++) {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/greeter/srv/main.ts"], { cwd: root, stdio: ["ignore", "inherit", "pipe"] });
  child.stderr!.on("data", (d: Buffer) => process.stderr.write(`  [node ${i + 1}] ${d.toString().trimEnd().replace(/\n/g, `\n  [node ${i + 1}] `)}\n`));
  nodes.push(child);
}
// Wait until all three have registered.
for (;;) {
  const ids = ((await registry.getService("go.micro.srv.greeter"))[0]?.nodes ?? []).filter((n) => !before.has(n.id));
  if (ids.length >= NODES) break;
  if (nodes.some((n) => n.exitCode !== null)) throw new Error("a greeter node exited early");
  await new Promise((r) => setTimeout(r, 100));
}
await registry.close();

micro("list", "services");
micro("get", "service", "go.micro.srv.greeter");
micro("call", "go.micro.srv.greeter", "Say.Hello", '{"name":"John"}');
micro("call", "go.micro.srv.greeter", "Say.Hello", '{"name":""}');
micro("health", "go.micro.srv.greeter");
say("\n$ npx tsx examples/greeter/cli/main.ts Alice");
process.stdout.write(execFileSync(process.execPath, ["--import", "tsx", "examples/greeter/cli/main.ts", "Alice"], { cwd: root, encoding: "utf8", timeout: 20_000 }));

say("\nStopping the nodes with SIGTERM (each deregisters, drains, exits 0)");
const codes = await Promise.all(nodes.map((n) => new Promise<number | null>((resolve) => {
  n.once("exit", (code) => resolve(code));
  n.kill("SIGTERM");
})));
clearTimeout(guard);
say(`exit codes: ${codes.join(", ")}`);
process.exit(codes.every((c) => c === 0) ? 0 : 1);
