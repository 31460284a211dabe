// A real etcd (Debian's etcd-server) on 127.0.0.1 with free ports and a temp
// data folder, for the tests that need one. .ci/run installs it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../bench/ports.js";


export interface Etcd {
  /** host:port clients use */
  address: string;
  dataDir: string;
  stop(): Promise<void>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** Starts again on the same ports and data. */
  restart(): Promise<void>;
  remove(): Promise<void>;
}

if (spawnSync("etcd", ["--version"]).status !== 0) {
  throw new Error("these tests need etcd on PATH: apt-get install etcd-server (.ci/run does)");
}

/** One etcd member, healthy when this resolves. */
export async function startEtcd(): Promise<Etcd> {
  const [member] = await startEtcdCluster(1);
  return member!;
}

/** n members on 127.0.0.1 forming one cluster; resolves once every member is healthy. */
export async function startEtcdCluster(n: number): Promise<Etcd[]> {
  const specs = [];
  for (let i = 0; i < n; i++) {
    specs.push({ name: `n${i}`, client: await freePort(), peer: await freePort(), dataDir: await mkdtemp(join(tmpdir(), "micro-etcd-")) });
  }
  const initialCluster = specs.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
  const token = `micro-test-${specs[0]!.peer}`; // one token per cluster: members of different clusters never join
  const members = specs.map((m) => member(m.name, `127.0.0.1:${m.client}`, m.peer, m.dataDir, initialCluster, token));
  await Promise.all(members.map((m) => m.restart()));
  return members;
}

function member(name: string, address: string, peerPort: number, dataDir: string, initialCluster: string, token: string): Etcd {
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn("etcd", [
      "--name", name, "--data-dir", dataDir,
      "--listen-client-urls", `http://${address}`, "--advertise-client-urls", `http://${address}`,
      "--listen-peer-urls", `http://127.0.0.1:${peerPort}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peerPort}`,
      "--initial-cluster", initialCluster, "--initial-cluster-token", token, "--log-level", "error",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`etcd ${name} exited with ${child.exitCode}: ${err}`);
      try {
        const rsp = await fetch(`http://${address}/health`, { signal: AbortSignal.timeout(500) });
        if (rsp.ok && ((await rsp.json()) as { health?: string }).health === "true") return;
      } catch {
        // not up yet (or no quorum yet)
      }
      if (Date.now() > deadline) throw new Error(`etcd ${name} not healthy within 20 s: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const halt = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill(signal);
    const t = setTimeout(() => c.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(t);
  };
  return {
    address,
    dataDir,
    stop: () => halt("SIGTERM"),
    kill: () => halt("SIGKILL"),
    restart: launch,
    remove: async () => {
      await halt("SIGKILL");
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
