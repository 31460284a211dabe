// The registry section of `npm run bench` (BENCH_REGISTRY=1, the default), on
// a real etcd started for the run (skipped, with a note, when etcd is not on
// PATH):
//   1. 10,000 nodes over 1,000 services are seeded; `micro list services` and
//      `micro get service <name>` run as whole CLI processes, 5 times each;
//   2. a churn driver does 100 registry operations a second for 10 s (new
//      nodes, re-registrations with changed metadata, some under another
//      version, deregistrations, 2 s TTL nodes left to expire) over 20
//      services while 5 client processes watch them through a CacheRegistry
//      each (cache-view.ts); once churn stopped and the TTL nodes expired,
//      every cache must equal etcd, and propagation lag is measured from each
//      put's reply to the moment a cache got the event.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { EtcdRegistry } from "../src/index.js";
import { ChildCache, ChurnDriver, lags, mismatches, percentile, registryViews, sameView, settle, viewDiff, wall, type ChurnCounts, type View } from "./churn.js";
import { etcdVersion, startEtcd } from "./etcd.js";

export const SEED_SERVICES = 1_000;
export const NODES_PER_SERVICE = 10;
export const CLI_RUNS = 5;
export const GET_SERVICE = "svc-0500";
export const CHURN_RATE = 100;
export const CHURN_SECONDS = 10;
export const CHURN_CACHES = 5;
export const CHURN_SERVICES = 20;
const ANCHORED = 15; // services that keep one permanent node: only the watch keeps their cache entries current
export const CHURN_TTL_MS = 2_000;
export const SETTLE_MS = 5_000;

export interface ChurnFigures {
  seed: number;
  counts: ChurnCounts;
  achievedRate: number;
  /** etcd ended holding exactly what the driver did. */
  etcdAgrees: boolean;
  /** (cache, service) pairs that differ from etcd after the settle; the first few described. */
  mismatches: number;
  details: string[];
  /** Driver operations a cache never got an event for (all caches watch from before the churn). */
  missedEvents: number;
  /** ms, put's reply → the cache got the event (negative: the event came first); and from when the call was issued. */
  lagP50: number;
  lagP99: number;
  issuedP50: number;
  issuedP99: number;
  lagSamples: number;
}

export interface RegistryFigures {
  /** etcd's version, when it is on PATH. */
  etcd?: string;
  skipped?: string;
  seedMs: number;
  listMs: number[];
  getMs: number[];
  churn?: ChurnFigures;
  /** Anything that makes the bench exit 1: a failed CLI run, a failed registry call, a wrong cache. */
  problems: string[];
  commands: [string, string][];
}

export const churnCorrect = (c: ChurnFigures | undefined) => c !== undefined && c.etcdAgrees && c.mismatches === 0 && c.missedEvents === 0;

/** build: the compiled bench (micro.js, cache-view.js); root: the repo, the processes' cwd. */
export async function registryBench(build: string, root: string, note: (msg: string) => void): Promise<RegistryFigures> {
  const figures: RegistryFigures = { seedMs: NaN, listMs: [], getMs: [], problems: [], commands: [] };
  const version = etcdVersion();
  if (!version) {
    figures.skipped = "etcd is not on PATH (apt-get install etcd-server)";
    return figures;
  }
  figures.etcd = version;
  const etcd = await startEtcd();
  try {
    figures.seedMs = await seed(etcd.address);
    note(`registry: etcd ${version} seeded with ${SEED_SERVICES * NODES_PER_SERVICE} nodes over ${SEED_SERVICES} services in ${(figures.seedMs / 1000).toFixed(1)} s`);

    const cli = ["--registry=etcd", `--registry_address=${etcd.address}`];
    figures.commands.push(["micro list services", `node .bench-build/bench/micro.js ${cli.join(" ")} list services`]);
    figures.commands.push(["micro get service", `node .bench-build/bench/micro.js ${cli.join(" ")} get service ${GET_SERVICE}`]);
    for (let run = 0; run < CLI_RUNS; run++) {
      const list = await micro(build, root, [...cli, "list", "services"]);
      const services = list.stdout.trim().split("\n").filter(Boolean).length;
      if (list.code !== 0 || services !== SEED_SERVICES) {
        figures.problems.push(`registry: micro list services run ${run + 1}: exit ${list.code}, ${services} services listed, not ${SEED_SERVICES}${why(list.stderr)}`);
      } else figures.listMs.push(list.ms);
      const get = await micro(build, root, [...cli, "get", "service", GET_SERVICE]);
      const nodes = get.stdout.split("\n").filter((l) => l.startsWith("svc-500-")).length;
      if (get.code !== 0 || nodes !== NODES_PER_SERVICE) {
        figures.problems.push(`registry: micro get service run ${run + 1}: exit ${get.code}, ${nodes} nodes shown, not ${NODES_PER_SERVICE}${why(get.stderr)}`);
      } else figures.getMs.push(get.ms);
    }
    note(`registry: micro list services / get service, ${CLI_RUNS} runs each: done`);

    figures.commands.push(["cache-view (one per watching client)", `node .bench-build/bench/cache-view.js '{"address":"${etcd.address}","services":[…${CHURN_SERVICES} names]}'`]);
    figures.churn = await churn(etcd.address, build, root, figures.problems);
    const c = figures.churn;
    note(`registry: churn ${c.achievedRate.toFixed(1)} ops/s for ${CHURN_SECONDS} s, ${CHURN_CACHES} caches: ` +
      `${churnCorrect(c) ? "every cache equals etcd" : `WRONG (${c.mismatches} mismatch(es), etcd ${c.etcdAgrees ? "agrees" : "disagrees"} with the driver, ${c.missedEvents} missed event(s))`}`);
  } finally {
    await etcd.stop();
  }
  return figures;
}

/** SEED_SERVICES services of NODES_PER_SERVICE nodes each, 50 registrations at a time; returns ms. */
async function seed(address: string): Promise<number> {
  const t = performance.now();
  const registry = new EtcdRegistry({ address });
  try {
    const jobs: Promise<void>[] = [];
    for (let s = 0; s < SEED_SERVICES; s++) {
      const nodes = Array.from({ length: NODES_PER_SERVICE }, (_, n) => ({ id: `svc-${s}-${n}`, address: `10.0.${s % 250}.${n}:${10_000 + s}`, metadata: { registry: "etcd", server: "mucp" } }));
      jobs.push(registry.register({ name: `svc-${String(s).padStart(4, "0")}`, version: "latest", metadata: null, endpoints: null, nodes }));
      if (jobs.length === 50) await Promise.all(jobs.splice(0));
    }
    await Promise.all(jobs);
  } finally {
    await registry.close();
  }
  return performance.now() - t;
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** spawn → exit, ms */
  ms: number;
}

/** The micro command as a whole process, as a user runs it; killed after 30 s. */
function micro(build: string, root: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const t = performance.now();
    const child = spawn(process.execPath, [join(build, "micro.js"), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (err) => (stderr += `spawn: ${err.message}\n`));
    const timer = setTimeout(() => {
      stderr += "killed after 30 s\n";
      child.kill("SIGKILL");
    }, 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t });
    });
  });
}

const why = (stderr: string) => {
  const line = stderr.trim().split("\n").at(-1);
  return line ? ` (${line.slice(0, 200)})` : "";
};

async function churn(address: string, build: string, root: string, problems: string[]): Promise<ChurnFigures> {
  const names = Array.from({ length: CHURN_SERVICES }, (_, i) => `go.micro.srv.churn-${String(i).padStart(2, "0")}`);
  const seed = Math.floor(Math.random() * 2 ** 31);
  const writer = new EtcdRegistry({ address });
  const checker = new EtcdRegistry({ address });
  const driver = new ChurnDriver(writer, { services: names, anchored: ANCHORED, rate: CHURN_RATE, durationMs: CHURN_SECONDS * 1000, ttlMs: CHURN_TTL_MS, seed });
  const caches: ChildCache[] = [];
  try {
    await driver.seedAnchors();
    for (let i = 0; i < CHURN_CACHES; i++) caches.push(new ChildCache([join(build, "cache-view.js")], { address, services: names }, root));
    await Promise.all(caches.map((c) => c.ready()));

    const churnStart = wall();
    await driver.run();
    for (const e of driver.errors.slice(0, 3)) problems.push(`registry churn: a registry call failed: ${e}`);
    if (driver.errors.length > 3) problems.push(`registry churn: ${driver.errors.length - 3} more registry call(s) failed`);

    // etcd drops the TTL nodes shortly after their TTL; then it must hold exactly what the driver did.
    let truth: Record<string, View> = {};
    const expected = Object.fromEntries(names.map((n) => [n, driver.expected(n)]));
    const etcdAgrees = await settle(async () => {
      truth = await registryViews(checker, names);
      return names.every((n) => sameView(expected[n]!, truth[n]!));
    }, Math.max(0, driver.lastTtlAt + CHURN_TTL_MS - Date.now()) + SETTLE_MS);
    if (!etcdAgrees) {
      const first = names.find((n) => !sameView(expected[n]!, truth[n]!))!;
      problems.push(`registry churn: etcd does not hold what the driver did, e.g. ${first}: ${viewDiff(expected[first]!, truth[first]!).slice(0, 300)}`);
    }

    // Every cache, as the selector reads it, must equal etcd within SETTLE_MS.
    let wrong: string[] = [];
    let snapshots: Awaited<ReturnType<ChildCache["views"]>>[] = [];
    await settle(async () => {
      snapshots = await Promise.all(caches.map((c) => c.views()));
      wrong = snapshots.flatMap((s, i) => mismatches(s.views, truth, names, ANCHORED).map((m) => `cache ${i + 1}: ${m}`));
      return wrong.length === 0;
    }, SETTLE_MS);
    for (const w of wrong.slice(0, 3)) problems.push(`registry churn: cache differs from etcd: ${w.slice(0, 300)}`);
    if (wrong.length > 3) problems.push(`registry churn: ${wrong.length - 3} more (cache, service) pair(s) differ from etcd`);

    const after = snapshots.flatMap((s) => lags(driver.resolved, s.seen));
    const issued = snapshots.flatMap((s) => lags(driver.issued, s.seen));
    let missedEvents = 0;
    for (const s of snapshots) for (const [key, at] of driver.issued) if (at >= churnStart && !s.seen.has(key)) missedEvents++;
    if (missedEvents) problems.push(`registry churn: caches missed ${missedEvents} watch event(s) in all`);
    return {
      seed,
      counts: driver.counts,
      achievedRate: driver.achievedRate,
      etcdAgrees,
      mismatches: wrong.length,
      details: wrong.slice(0, 5),
      missedEvents,
      lagP50: percentile(after, 50),
      lagP99: percentile(after, 99),
      issuedP50: percentile(issued, 50),
      issuedP99: percentile(issued, 99),
      lagSamples: after.length,
    };
  } finally {
    await Promise.all(caches.map((c) => c.close()));
    await writer.close();
    await checker.close();
  }
}
