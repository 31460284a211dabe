// One etcd (Debian's etcd-server) on 127.0.0.1 with free ports and a temp data
// folder, for the bench's registry section. The tests have their own starter
// (test/etcd.ts, clusters and restarts); the bench must not import tests.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";

/** "3.4.23", or undefined when etcd is not on PATH. */
export function etcdVersion(): string | undefined {
  const run = spawnSync("etcd", ["--version"], { encoding: "utf8" });
  if (run.status !== 0) return undefined;
  return /etcd Version: (\S+)/.exec(run.stdout)?.[1] ?? "unknown";
}


export interface BenchEtcd {
  /** host:port for clients */
  address: string;
  pid: number;
  /** Kills it and removes its data folder; waits for the exit. */
  stop(): Promise<void>;
}

const running = new Set<{ child: ChildProcess; dataDir: string }>();
// No stray etcd, whatever happens to the bench (its SIGINT handler exits, which fires this).
process.on("exit", () => {
  for (const r of running) {
    r.child.kill("SIGKILL");
    rmSync(r.dataDir, { recursive: true, force: true });
  }
});

/** A healthy single-member etcd, within 20 s. */
export async function startEtcd(): Promise<BenchEtcd> {
  const [client, peer] = [await freePort(), await freePort()];
  const address = `127.0.0.1:${client}`;
  const dataDir = mkdtempSync(join(tmpdir(), "micro-bench-etcd-"));
  const child = spawn("etcd", [
    "--name", "bench", "--data-dir", dataDir,
    "--listen-client-urls", `http://${address}`, "--advertise-client-urls", `http://${address}`,
    "--listen-peer-urls", `http://127.0.0.1:${peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`,
    "--initial-cluster", `bench=http://127.0.0.1:${peer}`, "--initial-cluster-token", `micro-bench-${peer}`, "--log-level", "error",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  const entry = { child, dataDir };
  running.add(entry);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
    running.delete(entry);
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`etcd exited with ${child.exitCode}: ${err.trim().split("\n").at(-1) ?? ""}`);
    }
    try {
      const rsp = await fetch(`http://${address}/health`, { signal: AbortSignal.timeout(500) });
      if (rsp.ok && ((await rsp.json()) as { health?: string }).health === "true") break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`etcd not healthy within 20 s: ${err.trim().split("\n").at(-1) ?? ""}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { address, pid: child.pid ?? -1, stop };
}
