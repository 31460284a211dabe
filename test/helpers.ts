// Shared by the integration tests: temp registry folders, real service
// processes, and the micro CLI run as a user runs it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalRegistry, type Node } from "../src/index.js";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

export async function tempDir(prefix = "micro-ts-test-"): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface Proc {
  child: ChildProcess;
  /** Node id, once registered. */
  id: string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Starts a service script as its own process and waits until it has registered. */
export function startService(script: string, registryDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  return startProcess([process.execPath, "--import", "tsx", script, `--registry_address=${registryDir}`, "--server_address=127.0.0.1:0", ...args], env);
}

/** Runs argv (a service, perhaps behind `ip netns exec`) and waits until it has registered. */
export async function startProcess(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const [command, ...rest] = argv;
  const child = spawn(command!, rest, {
    cwd: ROOT,
    env: { ...process.env, MICRO_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const id = await stderrMatch(child, () => err, exited, /Registering node: (\S+)/, argv.join(" "), "registering");
  return { child, id, stderr: () => err, exited };
}

export async function stopAll(procs: Proc[]): Promise<void> {
  await Promise.all(procs.map(async (p) => {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill("SIGKILL");
      await p.exited;
    }
  }));
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the micro command (bin/micro.js) as `npx micro` does; `via` prefixes the command (e.g. `ip netns exec <ns>`). */
export function micro(args: string[], env: NodeJS.ProcessEnv = {}, via: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const argv = [...via, process.execPath, join(ROOT, "bin/micro.js"), ...args];
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`micro ${args.join(" ")} did not finish within 30 s`));
    }, 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The nodes the registry lists for a service now. */
export async function nodesOf(registryDir: string, service: string): Promise<Node[]> {
  const r = new LocalRegistry({ dir: registryDir });
  try {
    return (await r.getService(service)).flatMap((s) => s.nodes ?? []);
  } finally {
    await r.close();
  }
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface GatewayProc {
  child: ChildProcess;
  /** host:port it listens on */
  address: string;
  url: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

/**
 * Runs `micro [global…] api|web [args…]` (bin/micro.js) and waits until it
 * says where it listens. Give it `--address=127.0.0.1:0` (or a port) in args.
 */
export async function startGateway(command: "api" | "web", globals: string[], args: string[], env: NodeJS.ProcessEnv = {}): Promise<GatewayProc> {
  const child = spawn(process.execPath, [join(ROOT, "bin/micro.js"), ...globals, command, ...args], {
    cwd: ROOT,
    env: { ...process.env, MICRO_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  let out = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  child.stdout!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-100_000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const address = await stderrMatch(child, () => err, exited, /Listening on (\S+)/, `micro ${command}`, "listening");
  const scheme = /Listening on \S+ \(TLS\)/.test(err) ? "https" : "http";
  return { child, address, url: `${scheme}://${address}`, stdout: () => out, stderr: () => err, exited };
}

/** The first capture of pattern in the child's stderr, within 15 s; rejects if it exits first. */
function stderrMatch(child: ChildProcess, stderr: () => string, exited: Promise<number | null>, pattern: RegExp, who: string, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${who} did not get to ${what} within 15 s:\n${stderr()}`)), 15_000);
    const check = () => {
      const m = pattern.exec(stderr());
      if (m) {
        clearTimeout(timer);
        child.stderr!.off("data", check);
        resolve(m[1]!);
      }
    };
    child.stderr!.on("data", check);
    check();
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${who} exited with ${code} before ${what}:\n${stderr()}`));
    });
  });
}
