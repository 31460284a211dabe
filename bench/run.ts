// `npm run bench`: micro-ts against its peers, each server and client in its
// own process, rounds alternating between frameworks; then API gateway
// throughput (micro api against a bare node:http proxy, moleculer-web and a
// direct call; load generator bench/gateway.ts), start-up time, idle RSS,
// selector picks/s and the etcd registry (bench/registry.ts); prints the
// tables and writes bench/RESULTS.md.
//
// Environment:
//   BENCH_ROUNDS=3           throughput rounds (framework order rotates each round)
//   BENCH_DURATION=3         measured seconds per scenario
//   BENCH_WARMUP=0.5         warm-up seconds per scenario (not counted)
//   BENCH_ONLY=a,b           frameworks by id or name: microts, compat, moleculer, grpc, http
//   BENCH_SCENARIOS=a,b      scenarios: tiny-1, tiny-10, tiny-100, 16k-1, 16k-100
//   BENCH_STARTUP_RUNS=5     start-up/RSS runs per framework (0 skips)
//   BENCH_SELECTOR_ROUNDS=5  selector rounds of ~1 s per path and strategy (0 skips)
//   BENCH_GATEWAY=1          the API gateway section, BENCH_ROUNDS rounds (0 skips)
//   BENCH_REGISTRY=1         the etcd registry section (0 skips; skipped with a note when etcd is not on PATH)
//   BENCH_SECTIONS=a,b       only these sections: throughput, gateway, startup, selector, registry
//   BENCH_PIN=1              pin servers to cpu 0 and clients to cpu 1 with taskset (0: don't)
//   BENCH_OUT=path           where the report goes; default bench/RESULTS.md, or
//                            .bench-build/RESULTS.md when BENCH_ONLY/BENCH_SCENARIOS/BENCH_SECTIONS filter the run
// Exit 1 when any call failed, any bench process failed or any registry cache ended wrong;
// missed targets are printed, not fatal.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem, release } from "node:os";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { SCENARIOS, type Scenario } from "./payload.js";
import type { LoadResult } from "./load.js";
import { BUILD, ROOT } from "./root.js";
import { CHURN_CACHES, CHURN_RATE, CHURN_SECONDS, CHURN_SERVICES, CHURN_TTL_MS, CLI_RUNS, GET_SERVICE, NODES_PER_SERVICE, SEED_SERVICES, SETTLE_MS, churnCorrect, registryBench, type RegistryFigures } from "./registry.js";
import { freePort } from "./ports.js";

// ---- settings -------------------------------------------------------------

const env = process.env;
const num = (name: string, dflt: number) => {
  const v = env[name] === undefined || env[name] === "" ? dflt : Number(env[name]);
  if (!Number.isFinite(v) || v < 0) fatal(`${name} must be a number ≥ 0, not ${env[name]}`);
  return v;
};
const ROUNDS = num("BENCH_ROUNDS", 3);
const DURATION_MS = num("BENCH_DURATION", 3) * 1000;
const WARMUP_MS = num("BENCH_WARMUP", 0.5) * 1000;
const STARTUP_RUNS = num("BENCH_STARTUP_RUNS", 5);
const SELECTOR_ROUNDS = num("BENCH_SELECTOR_ROUNDS", 5);
const REGISTRY = num("BENCH_REGISTRY", 1) > 0;
const GATEWAY_ON = num("BENCH_GATEWAY", 1) > 0;
const IDLE_MS = 1500; // server idle time before reading its RSS
const GRACE_MS = 3000; // SIGTERM → SIGKILL

interface Framework {
  id: string;
  name: string;
  /** bench/peers/<script>.ts */
  script: string;
  /** Extra client options (go-compat mode). */
  client?: Record<string, unknown>;
}
const ALL: Framework[] = [
  { id: "microts", name: "micro-ts", script: "microts" },
  { id: "compat", name: "micro-ts go-compat", script: "microts", client: { compat: true } },
  { id: "moleculer", name: "moleculer", script: "moleculer" },
  { id: "grpc", name: "grpc-js", script: "grpc" },
  { id: "http", name: "node:http", script: "http" },
];
const list = (v: string | undefined) => (v ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
const only = list(env.BENCH_ONLY);
const FRAMEWORKS = only.length ? ALL.filter((f) => only.includes(f.id) || only.includes(f.name)) : ALL;
const wanted = list(env.BENCH_SCENARIOS);
const RUN_SCENARIOS = wanted.length ? SCENARIOS.filter((s) => wanted.includes(s.name.toLowerCase())) : [...SCENARIOS];
if (FRAMEWORKS.length === 0) fatal(`BENCH_ONLY=${env.BENCH_ONLY} names no framework (ids: ${ALL.map((f) => f.id).join(", ")})`);
if (RUN_SCENARIOS.length === 0) fatal(`BENCH_SCENARIOS=${env.BENCH_SCENARIOS} names no scenario (${SCENARIOS.map((s) => s.name).join(", ")})`);
const SECTIONS = ["throughput", "gateway", "startup", "selector", "registry"] as const;
const sectionList = list(env.BENCH_SECTIONS);
for (const s of sectionList) if (!(SECTIONS as readonly string[]).includes(s)) fatal(`BENCH_SECTIONS names ${s}, not one of ${SECTIONS.join(", ")}`);
const runs = (section: (typeof SECTIONS)[number]) => sectionList.length === 0 || sectionList.includes(section);
const THROUGHPUT = runs("throughput") && ROUNDS > 0;
const GATEWAY = runs("gateway") && GATEWAY_ON && ROUNDS > 0;
const FILTERED = only.length > 0 || wanted.length > 0 || sectionList.length > 0;
const OUT = env.BENCH_OUT || (FILTERED ? join(ROOT, ".bench-build", "RESULTS.md") : join(ROOT, "bench", "RESULTS.md"));
const PIN = env.BENCH_PIN !== "0" && cpus().length >= 2 && spawnSync("taskset", ["-c", "0", "true"]).status === 0;
const SERVER_CPU = "0";
const CLIENT_CPU = "1";

function fatal(msg: string): never {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(1);
}

// ---- child processes ------------------------------------------------------

const live = new Set<Proc>();
const tempDirs = new Set<string>();
const killAll = () => {
  for (const p of live) p.child.kill("SIGKILL");
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
};
// No stray servers, whatever happens to the harness.
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    process.stderr.write(`bench: ${sig}, killing ${live.size} child process(es)\n`);
    killAll();
    process.exit(130);
  });
}

type Line = Record<string, unknown>;

/** A bench script as a child process, read as JSON lines from its stdout. */
class Proc {
  readonly child: ChildProcess;
  readonly command: string;
  private readonly lines: Line[] = [];
  private seen = 0;
  private stderr = "";
  private wake: (() => void) | undefined;
  code: number | null | undefined = undefined;
  private readonly closed: Promise<void>;

  /** stdout "ignore": a process that does not speak JSON lines (micro api's access log goes to /dev/null). */
  constructor(readonly label: string, script: string, args: string[], cpu?: string, opts: { stdout?: "json" | "ignore" } = {}) {
    const file = join(BUILD, script);
    const argv = [file, ...args];
    const [cmd, full] = PIN && cpu ? ["taskset", ["-c", cpu, process.execPath, ...argv]] : [process.execPath, argv];
    this.command = `${PIN && cpu ? `taskset -c ${cpu} ` : ""}node ${relative(ROOT, file)} ${args.map((a) => (/[\s{"]/.test(a) ? `'${a}'` : a)).join(" ")}`;
    // taskset execs node, so pid is node's own (for /proc/<pid>/status).
    this.child = spawn(cmd, full, { cwd: ROOT, stdio: ["ignore", opts.stdout === "ignore" ? "ignore" : "pipe", "pipe"] });
    live.add(this);
    let buf = "";
    this.child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const text = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        try {
          this.lines.push(JSON.parse(text) as Line);
        } catch {
          this.stderr += `(stdout) ${text}\n`; // a library printing to stdout: keep it for errors
        }
      }
      this.poke();
    });
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      this.stderr = (this.stderr + d).slice(-20_000);
      this.poke();
    });
    this.closed = new Promise((resolve) => {
      this.child.on("error", (err) => {
        this.stderr += `bench-peer-error: spawn: ${err.message}\n`;
      });
      this.child.on("close", (code, signal) => {
        this.code = code ?? (signal ? -1 : null);
        live.delete(this);
        this.poke();
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The peer's own error line, else the last stderr line: one line for the report. */
  why(): string {
    const lines = this.stderr.split("\n").filter((l) => l.trim());
    const own = lines.find((l) => l.startsWith("bench-peer-error: "));
    const line = own?.slice("bench-peer-error: ".length) ?? lines.at(-1);
    return line ? ` (${line.slice(0, 300)})` : "";
  }

  /** The next JSON line matching pred, within ms. */
  async expect(pred: (o: Line) => boolean, ms: number, what: string): Promise<Line> {
    let found: Line | undefined;
    await this.until(() => {
      while (this.seen < this.lines.length) {
        const o = this.lines[this.seen++]!;
        if (pred(o)) {
          found = o;
          return true;
        }
      }
      return false;
    }, ms, what);
    return found!;
  }

  /** Until stderr shows pattern (a CLI's "listening" line), within ms. */
  expectStderr(pattern: RegExp, ms: number, what: string): Promise<void> {
    return this.until(() => pattern.test(this.stderr), ms, what);
  }

  /** Re-checks `done` whenever the process writes, until it holds, the process exits, or ms pass. */
  private async until(done: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (done()) return;
      if (this.code !== undefined) throw new Error(`${this.label}: exited with ${this.code} before ${what}${this.why()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: no ${what} within ${(ms / 1000).toFixed(1)} s${this.why()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  async exited(ms: number): Promise<boolean> {
    if (this.code !== undefined) return true;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise((r) => (t = setTimeout(r, ms)))]);
    clearTimeout(t);
    return this.code !== undefined;
  }

  /** SIGTERM, then SIGKILL after a grace; always waits for the exit. */
  async stop(): Promise<void> {
    if (this.code !== undefined) return;
    this.child.kill("SIGTERM");
    if (await this.exited(GRACE_MS)) return;
    this.child.kill("SIGKILL");
    if (!(await this.exited(5000))) throw new Error(`${this.label}: pid ${this.pid} survived SIGKILL`);
  }
}

const peer = (script: string) => join("peers", `${script}.js`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wall = () => performance.timeOrigin + performance.now();

/** A free port for the peers that need one up front (probe before server, Moleculer urls). */

/** Server options: a fresh registry folder each time, so no stale node from an earlier kill -9. */
async function serverOpts(script: string) {
  const registryDir = await mkdtemp(join(tmpdir(), "micro-bench-"));
  tempDirs.add(registryDir);
  return { port: script === "microts" ? 0 : await freePort(), registryDir };
}
async function removeDir(dir: string) {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

const failures: string[] = [];
const commands = new Map<string, string>();
const note = (msg: string) => process.stdout.write(msg + "\n");

// ---- throughput and latency -----------------------------------------------

/** results[framework][scenario][round] */
const results = new Map<string, Map<string, (LoadResult | undefined)[]>>();
const record = (fw: string, sc: string, round: number, r: LoadResult | undefined) => {
  const byScenario = results.get(fw) ?? results.set(fw, new Map()).get(fw)!;
  const rounds = byScenario.get(sc) ?? byScenario.set(sc, []).get(sc)!;
  rounds[round] = r;
};

async function throughputRound(fw: Framework, round: number, scenarios: Scenario[]): Promise<void> {
  const opts = await serverOpts(fw.script);
  const server = new Proc(`${fw.name} server`, peer(fw.script), ["server", JSON.stringify(opts)], SERVER_CPU);
  let client: Proc | undefined;
  try {
    await server.expect((o) => o.ready === true, 15_000, "ready line");
    const clientOpts = { ...opts, ...fw.client, scenarios, warmupMs: WARMUP_MS, durationMs: DURATION_MS };
    client = new Proc(`${fw.name} client`, peer(fw.script), ["client", JSON.stringify(clientOpts)], CLIENT_CPU);
    commands.set(`${fw.name} server`, server.command);
    const extra = fw.client ? `,${JSON.stringify(fw.client).slice(1, -1)}` : "";
    commands.set(`${fw.name} client`, client.command.replace(/'\{.*\}'/, `'{…,"scenarios":[…]${extra}}'`));
    // Connect + first good reply (≤ 10 s), then each scenario plus slack.
    const deadline = Date.now() + 20_000 + scenarios.length * ((WARMUP_MS + DURATION_MS) * 2 + 5_000);
    for (const s of scenarios) {
      const line = await client.expect((o) => o.scenario === s.name, deadline - Date.now(), `result for ${s.name}`);
      const r = line as unknown as LoadResult;
      record(fw.name, s.name, round, r);
      if (r.failed > 0) failures.push(`${fw.name} ${s.name} round ${round + 1}: ${r.failed} failed call(s), first: ${r.firstError}`);
      else if (r.calls === 0) failures.push(`${fw.name} ${s.name} round ${round + 1}: no call completed`);
    }
    if (!(await client.exited(5_000)) || client.code !== 0) throw new Error(`${fw.name} client: exit ${client.code ?? "timeout"}${client.why()}`);
    if (server.code !== undefined) throw new Error(`${fw.name} server: died during the run (exit ${server.code})${server.why()}`);
  } finally {
    await client?.stop();
    await server.stop();
    await removeDir(opts.registryDir);
  }
}

// ---- API gateway (issue 5) ---------------------------------------------------
//
// GET /greeter/say/hello?name=John → go.micro.srv.greeter Say.Hello through
// the rpc handler, HTTP/1.1 keep-alive, one connection per call in flight.
// Per target and round: the greeter service and the gateway, each its own
// process, both pinned to cpu 0; the load generator (bench/gateway.ts) on cpu 1.
// "direct" has no gateway: the load generator calls the greeter with the
// micro-ts Client, which is what the gateway saves an HTTP caller from.
// "direct mucp" is the same keep-alive HTTP client as for the gateways,
// sending the greeter call as the mucp request it is (POST / with Micro-*
// headers) straight to the greeter: the one difference from micro api is the
// hop. "TCP relay" is that request through a Node process that pipes bytes and
// parses nothing, beside the greeter on cpu 0: the floor under any gateway
// that is a process of its own.

const GATEWAY_CONCURRENCY = [1, 10, 100];
const GATEWAY_PATH = "/greeter/say/hello?name=John";
const MICRO_API = "micro api";
const PROXY = "node:http proxy";
const MOLECULER_WEB = "moleculer-web";
const DIRECT = "direct (micro-ts Client)";
const MUCP = "direct mucp (same HTTP client)";
const RELAY = "TCP relay, no parsing (floor)";
const GATEWAYS = [MICRO_API, PROXY, MOLECULER_WEB, DIRECT, MUCP, RELAY];
/** cpu: the load generator's CPU (fraction of one core); serverUs: CPU µs per call of the processes on the server side (greeter + gateway). */
type GatewayResult = LoadResult & { cpu: number; serverUs: number };

/** utime + stime of a process, in seconds (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
/** gatewayResults[target][concurrency][round] */
const gatewayResults = new Map<string, Map<number, (GatewayResult | undefined)[]>>();

async function gatewayRound(target: string, round: number): Promise<void> {
  const registryDir = await mkdtemp(join(tmpdir(), "micro-bench-"));
  tempDirs.add(registryDir);
  const servers: Proc[] = [];
  let load: Proc | undefined;
  const start = async (label: string, script: string, args: string[], opts?: { stdout?: "ignore" }) => {
    const p = new Proc(label, script, args, SERVER_CPU, opts);
    servers.push(p);
    if (round === 0) commands.set(`gateway, ${target}: ${label}`, p.command);
    return p;
  };
  try {
    let mode: "http" | "mucp" | "direct" = "http";
    let port = 0;
    if (target === MOLECULER_WEB) {
      const backendPort = await freePort();
      const svc = await start("moleculer greeter", peer("moleculer"), ["server", JSON.stringify({ port: backendPort, registryDir })]);
      await svc.expect((o) => o.ready === true, 15_000, "ready line");
      port = await freePort();
      const gw = await start("moleculer-web", peer("moleculer-web"), ["server", JSON.stringify({ port, registryDir, backendPort })]);
      await gw.expect((o) => o.ready === true, 20_000, "ready line");
    } else {
      const svc = await start("micro-ts greeter", peer("microts"), ["server", JSON.stringify({ port: 0, registryDir })]);
      const greeterAddress = String((await svc.expect((o) => o.ready === true, 15_000, "ready line")).address);
      if (target === MUCP) {
        mode = "mucp";
        port = Number(greeterAddress.slice(greeterAddress.lastIndexOf(":") + 1));
      } else if (target === RELAY) {
        mode = "mucp";
        const relay = await start("tcp relay", peer("tcp-relay"), ["server", JSON.stringify({ port: 0, registryDir, target: greeterAddress })]);
        port = (await relay.expect((o) => o.ready === true, 15_000, "ready line")).port as number;
      } else if (target === MICRO_API) {
        port = await freePort();
        // The real CLI (bench/micro.ts: bin/micro.js's main from .bench-build/); its access log goes to /dev/null.
        const args = ["--registry=local", `--registry_address=${registryDir}`, "api", `--address=127.0.0.1:${port}`, "--handler=rpc", "--namespace=go.micro.srv"];
        const api = await start("micro api", "micro.js", args, { stdout: "ignore" });
        await api.expectStderr(/HTTP API Listening on/, 15_000, "HTTP API Listening line");
      } else if (target === PROXY) {
        const proxy = await start("node:http proxy", peer("http-proxy"), ["server", JSON.stringify({ port: 0, registryDir })]);
        port = (await proxy.expect((o) => o.ready === true, 15_000, "ready line")).port as number;
      } else {
        mode = "direct";
      }
    }
    const opts = { ...(mode === "http" ? { port, path: GATEWAY_PATH } : mode === "mucp" ? { port } : { registryDir }), concurrency: GATEWAY_CONCURRENCY, warmupMs: WARMUP_MS, durationMs: DURATION_MS };
    load = new Proc(`${target} load`, "gateway.js", [mode, JSON.stringify(opts)], CLIENT_CPU);
    if (round === 0) commands.set(`gateway, ${target}: load generator`, load.command);
    const deadline = Date.now() + 20_000 + GATEWAY_CONCURRENCY.length * ((WARMUP_MS + DURATION_MS) * 2 + 5_000);
    const serverCpu = () => servers.reduce((sum, p) => sum + cpuSeconds(p.pid), 0);
    for (const c of GATEWAY_CONCURRENCY) {
      await load.expect((o) => o.window === `c${c}`, deadline - Date.now(), `window for ${c} in flight`);
      const cpu0 = serverCpu();
      const r = (await load.expect((o) => o.scenario === `c${c}`, deadline - Date.now(), `result for ${c} in flight`)) as unknown as GatewayResult;
      r.serverUs = ((serverCpu() - cpu0) * 1e6) / r.calls;
      const byC = gatewayResults.get(target) ?? gatewayResults.set(target, new Map()).get(target)!;
      (byC.get(c) ?? byC.set(c, []).get(c)!)[round] = r;
      if (r.failed > 0) failures.push(`gateway ${target} ${c} in flight round ${round + 1}: ${r.failed} failed call(s), first: ${r.firstError}`);
      else if (r.calls === 0) failures.push(`gateway ${target} ${c} in flight round ${round + 1}: no call completed`);
    }
    if (!(await load.exited(5_000)) || load.code !== 0) throw new Error(`${target} load: exit ${load.code ?? "timeout"}${load.why()}`);
    for (const p of servers) if (p.code !== undefined) throw new Error(`${p.label}: died during the run (exit ${p.code})${p.why()}`);
  } finally {
    await load?.stop();
    for (const p of servers.reverse()) await p.stop();
    await removeDir(registryDir);
  }
}

// ---- start-up and idle RSS ------------------------------------------------

interface StartRun {
  /** spawn → first good reply seen by an already-running client, ms */
  callable: number;
  /** spawn → the server's ready line reaches the parent, ms */
  ready: number;
  /** VmRSS after IDLE_MS idle, MB (10^6 bytes) */
  rssMB: number;
}
const startups = new Map<string, StartRun[]>();

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return (Number(m[1]) * 1024) / 1e6;
}

async function startupRun(fw: Framework): Promise<void> {
  const opts = await serverOpts(fw.script);
  // The probe (a client) is up first and polls; the clock starts at spawn.
  const probe = new Proc(`${fw.name} probe`, peer(fw.script), ["probe", JSON.stringify(opts)], CLIENT_CPU);
  let server: Proc | undefined;
  try {
    await probe.expect((o) => o.probing === true, 15_000, "probing line");
    const t0 = wall();
    server = new Proc(`${fw.name} server`, peer(fw.script), ["server", JSON.stringify(opts)], SERVER_CPU);
    await server.expect((o) => o.ready === true, 15_000, "ready line");
    const ready = wall() - t0;
    const first = await probe.expect((o) => typeof o.firstReply === "number", 15_000, "first good reply");
    const callable = (first.firstReply as number) - t0;
    await probe.stop();
    await sleep(IDLE_MS);
    if (server.code !== undefined) throw new Error(`${fw.name} server: exited while idle${server.why()}`);
    const run = { callable, ready, rssMB: rssMB(server.pid) };
    (startups.get(fw.name) ?? startups.set(fw.name, []).get(fw.name)!).push(run);
  } finally {
    await probe.stop();
    await server?.stop();
    await removeDir(opts.registryDir);
  }
}

// ---- selector ----------------------------------------------------------------

interface SelectorRow {
  name: string;
  strategy: string;
  rounds: number[];
}
let selectorRows: SelectorRow[] = [];

async function selectorBench(): Promise<void> {
  const p = new Proc("selector", "selector.js", [], CLIENT_CPU);
  commands.set("selector", `BENCH_SELECTOR_ROUNDS=${SELECTOR_ROUNDS} ${p.command}`);
  try {
    const line = await p.expect((o) => Array.isArray(o.rows), 30_000 + SELECTOR_ROUNDS * 6 * 2_000, "selector figures");
    selectorRows = line.rows as SelectorRow[];
  } finally {
    await p.stop();
  }
}

// ---- registry (etcd) ----------------------------------------------------------

/** Set when the section ran (or was skipped for want of etcd). */
let registryFigures: RegistryFigures | undefined;

async function registrySection(): Promise<void> {
  try {
    registryFigures = await registryBench(BUILD, ROOT, note);
  } catch (err) {
    failures.push(`registry: ${(err as Error).message}`);
    return;
  }
  if (registryFigures.skipped) note(`registry: skipped: ${registryFigures.skipped}`);
  failures.push(...registryFigures.problems);
  for (const [what, command] of registryFigures.commands) commands.set(what, command);
}

// ---- figures and formatting -------------------------------------------------

function median(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const us = (n: number) => (Number.isFinite(n) ? `${n < 100 ? n.toFixed(1) : Math.round(n)} µs` : "–");
const x = (n: number, d = 2) => (Number.isFinite(n) ? `${n.toFixed(d)}×` : "–");
const fixed = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "–");

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(" | ")} |`;
  return [line(head), `|${w.map((n, i) => (i === 0 ? "-".repeat(n + 2) : "-".repeat(n + 1) + ":")).join("|")}|`, ...rows.map(line)].join("\n");
}

const roundsOf = (fw: string, sc: string) => (results.get(fw)?.get(sc) ?? []).filter((r): r is LoadResult => r !== undefined);
const med = (fw: string, sc: string, key: "callsPerSec" | "p50" | "p99") => median(roundsOf(fw, sc).map((r) => r[key]));
const has = (fw: string) => FRAMEWORKS.some((f) => f.name === fw);

function throughputTable(): string {
  const names = FRAMEWORKS.map((f) => f.name);
  const ratios: [string, string][] = [];
  if (has("micro-ts")) for (const p of ["moleculer", "grpc-js", "node:http"]) if (has(p)) ratios.push(["micro-ts", p]);
  if (has("micro-ts go-compat") && has("node:http")) ratios.push(["micro-ts go-compat", "node:http"]);
  const head = ["calls/s (median)", ...names, ...ratios.map(([a, b]) => `${a === "micro-ts" ? "micro-ts" : "go-compat"} / ${b}`)];
  const rows = RUN_SCENARIOS.map((s) => [
    s.name,
    ...names.map((n) => int(med(n, s.name, "callsPerSec"))),
    ...ratios.map(([a, b]) => x(med(a, s.name, "callsPerSec") / med(b, s.name, "callsPerSec"))),
  ]);
  return table(head, rows);
}

function latencyTable(): string {
  const ones = RUN_SCENARIOS.filter((s) => s.concurrency === 1);
  const head = ["one call at a time (median of rounds)", ...ones.flatMap((s) => [`${s.name} p50`, `${s.name} p99`])];
  const rows = FRAMEWORKS.map((f) => [f.name, ...ones.flatMap((s) => [us(med(f.name, s.name, "p50")), us(med(f.name, s.name, "p99"))])]);
  return table(head, rows);
}

function startupTable(): string {
  const rows = FRAMEWORKS.filter((f) => startups.has(f.name)).map((f) => {
    const runs = startups.get(f.name)!;
    return [f.name, `${fixed(median(runs.map((r) => r.callable)))} ms`, `${fixed(median(runs.map((r) => r.ready)))} ms`, `${fixed(median(runs.map((r) => r.rssMB)))} MB`];
  });
  return table(["start-up (median of runs)", "spawn → callable", "spawn → ready line", "idle RSS"], rows);
}

const ms = (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : Math.round(n)} ms` : "–");

function registryTable(r: RegistryFigures): string {
  if (r.skipped) return `Skipped: ${r.skipped}.`;
  const list = median(r.listMs);
  const get = median(r.getMs);
  const c = r.churn;
  const correct = churnCorrect(c);
  const under1s = (v: number) => (Number.isFinite(v) ? (v < 1000 ? "PASS" : "MISS") : "n/a");
  const rows = [
    [`micro list services, ${int(SEED_SERVICES * NODES_PER_SERVICE)} nodes / ${int(SEED_SERVICES)} services (median of ${r.listMs.length})`, ms(list), "< 1 s", under1s(list)],
    [`micro get service ${GET_SERVICE}, ${NODES_PER_SERVICE} nodes (median of ${r.getMs.length})`, ms(get), "< 1 s", under1s(get)],
    [
      `churn ${CHURN_RATE} ops/s for ${CHURN_SECONDS} s, ${CHURN_CACHES} watching caches: every cache equals etcd`,
      c ? (correct ? "yes (0 mismatches)" : `no (${c.mismatches} mismatch(es)${c.etcdAgrees ? "" : ", etcd ≠ driver"}${c.missedEvents ? `, ${c.missedEvents} missed event(s)` : ""})`) : "–",
      "yes",
      c ? (correct ? "PASS" : "HARD FAIL") : "n/a",
    ],
    ["propagation lag p50 / p99: put's reply → the cache has the event", c ? `${ms(c.lagP50)} / ${ms(c.lagP99)}` : "–", "–", ""],
    ["propagation lag p50 / p99: put issued → the cache has the event", c ? `${ms(c.issuedP50)} / ${ms(c.issuedP99)}` : "–", "–", ""],
  ];
  const out = [table([`registry (etcd ${r.etcd}, one member on loopback)`, "this run", "target", "status"], rows)];
  if (c) {
    const n = c.counts;
    out.push(`Churn: ${n.register} registrations, ${n.update + n.move} re-registrations with changed metadata (${n.move} under another version), ` +
      `${n.deregister} deregistrations, ${n.ttl} nodes with a ${CHURN_TTL_MS / 1000} s TTL left to expire; ${fixed(c.achievedRate)} ops/s achieved; ` +
      `${int(c.lagSamples)} event deliveries timed; seed ${c.seed}. A negative lag is an event that reached the cache before the put's reply reached the driver.`);
    if (c.details.length) out.push("First mismatches:\n\n" + c.details.map((d) => `- ${d.slice(0, 300)}`).join("\n"));
  }
  return out.join("\n\n");
}

function selectorTable(): string {
  return table(
    ["selector, 100 nodes (median of rounds)", "strategy", "picks/s"],
    selectorRows.map((r) => [r.name, r.strategy, int(median(r.rounds))]),
  );
}

const gwRounds = (target: string, c: number) => (gatewayResults.get(target)?.get(c) ?? []).filter((r): r is GatewayResult => r !== undefined);
const gwMed = (target: string, c: number, key: "callsPerSec" | "p50" | "p99" | "cpu" | "serverUs") => median(gwRounds(target, c).map((r) => r[key]));
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)} %` : "–");
/** A gateway's hop cost, as 1 − gateway/direct calls/s, and as p50 − direct p50. */
const hopCost = (c: number, gw = MICRO_API, direct = DIRECT) => 1 - gwMed(gw, c, "callsPerSec") / gwMed(direct, c, "callsPerSec");
const p50Extra = (c: number, gw = MICRO_API, direct = DIRECT) => gwMed(gw, c, "p50") - gwMed(direct, c, "p50");
/** The hop rows: against the micro-ts Client, and against the same HTTP client sending mucp (with the relay as the floor). */
const HOPS: [string, string][] = [[MICRO_API, DIRECT], [PROXY, DIRECT], [MICRO_API, MUCP], [PROXY, MUCP], [RELAY, MUCP]];
const hopName = (gw: string, direct: string) => `${gw} vs ${direct === DIRECT ? "direct" : "direct mucp"}`;
const signedUs = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? "+" : "−"}${us(Math.abs(n))}` : "–");

function gatewayTables(): string {
  const inFlight = GATEWAY_CONCURRENCY.map((c) => `${c} in flight`);
  const calls = table(
    [`calls/s (median of rounds)`, ...inFlight],
    [
      ...GATEWAYS.map((g) => [g, ...GATEWAY_CONCURRENCY.map((c) => int(gwMed(g, c, "callsPerSec")))]),
      ...[MOLECULER_WEB, PROXY].map((p) => [`${MICRO_API} / ${p}`, ...GATEWAY_CONCURRENCY.map((c) => x(gwMed(MICRO_API, c, "callsPerSec") / gwMed(p, c, "callsPerSec")))]),
      ...HOPS.map(([g, d]) => [`hop cost: ${hopName(g, d)}`, ...GATEWAY_CONCURRENCY.map((c) => pct(hopCost(c, g, d)))]),
    ],
  );
  const latency = table(
    [`latency p50 / p99 (median of rounds)`, ...inFlight],
    [
      ...GATEWAYS.map((g) => [g, ...GATEWAY_CONCURRENCY.map((c) => `${us(gwMed(g, c, "p50"))} / ${us(gwMed(g, c, "p99"))}`)]),
      ...HOPS.map(([g, d]) => [`hop p50: ${hopName(g, d)}`, ...GATEWAY_CONCURRENCY.map((c) => signedUs(p50Extra(c, g, d)))]),
    ],
  );
  const serverUs = table(
    [`CPU per call of the greeter + gateway processes${PIN ? ` (cpu ${SERVER_CPU})` : ""}, µs (median)`, ...inFlight],
    GATEWAYS.map((g) => [g, ...GATEWAY_CONCURRENCY.map((c) => fixed(gwMed(g, c, "serverUs")))]),
  );
  const cpu = table(
    [`load generator CPU${PIN ? ` on cpu ${CLIENT_CPU}` : ""}, % of one core (median)`, ...inFlight],
    GATEWAYS.map((g) => [g, ...GATEWAY_CONCURRENCY.map((c) => pct(gwMed(g, c, "cpu")))]),
  );
  return [calls, latency, serverUs, cpu].join("\n\n");
}

interface Target {
  what: string;
  value: string;
  /** "info": a reference figure shown beside the targets, judged against nothing. */
  status: "PASS" | "MISS" | "HARD FAIL" | "n/a" | "info";
  /** Not one of issue 3's targets (which are judged on the tiny payload): shown, not counted. */
  stretch?: boolean;
}

function targets(): Target[] {
  const out: Target[] = [];
  const ratio = (a: string, b: string, sc: string) => med(a, sc, "callsPerSec") / med(b, sc, "callsPerSec");
  const judge = (v: number, ok: boolean): Target["status"] => (Number.isFinite(v) ? (ok ? "PASS" : "MISS") : "n/a");
  const for100 = RUN_SCENARIOS.filter((s) => s.concurrency === 100);
  for (const s of for100) {
    // 16 KiB is bound by V8's JSON work, which every peer pays alike (docs/performance.md).
    const stretch = s.payload !== "tiny";
    const tag = stretch ? " (stretch)" : "";
    const m = ratio("micro-ts", "moleculer", s.name);
    out.push({ what: `${s.name}${tag}: micro-ts ≥ 1.5× Moleculer (< 1.0× is a hard fail)`, value: x(m, 3), status: Number.isFinite(m) && m < 1 ? "HARD FAIL" : judge(m, m >= 1.5), stretch });
    const g = ratio("micro-ts", "grpc-js", s.name);
    out.push({ what: `${s.name}${tag}: micro-ts ≥ 10× grpc-js`, value: x(g, 3), status: judge(g, g >= 10), stretch });
  }
  const p50 = med("micro-ts", "tiny-1", "p50");
  const mp50 = med("moleculer", "tiny-1", "p50");
  out.push({ what: "tiny-1 p50: micro-ts ≤ Moleculer", value: `${us(p50)} vs ${us(mp50)}`, status: judge(p50 / mp50, p50 <= mp50) });
  for (const s of RUN_SCENARIOS) {
    const c = ratio("micro-ts go-compat", "node:http", s.name);
    out.push({ what: `${s.name}: go-compat ≥ 1.0× node:http`, value: x(c, 3), status: judge(c, c >= 1) });
  }
  const runs = startups.get("micro-ts") ?? [];
  const callable = median(runs.map((r) => r.callable));
  out.push({ what: "micro-ts spawn → callable ≤ 300 ms", value: `${fixed(callable)} ms`, status: judge(callable, callable <= 300) });
  const rss = median(runs.map((r) => r.rssMB));
  out.push({ what: "micro-ts idle RSS ≤ 60 MB", value: `${fixed(rss)} MB`, status: judge(rss, rss <= 60) });
  for (const r of selectorRows.filter((r) => r.name.startsWith("selectNow()"))) {
    const v = median(r.rounds);
    out.push({ what: `selector ${r.strategy}: ≥ 1M picks/s (selectNow() over the cache, as calls do)`, value: int(v), status: judge(v, v >= 1e6) });
  }
  if (GATEWAY) {
    const top = GATEWAY_CONCURRENCY.at(-1)!;
    const m = gwMed(MICRO_API, top, "callsPerSec") / gwMed(MOLECULER_WEB, top, "callsPerSec");
    out.push({ what: `gateway, ${top} in flight: micro api ≥ 1.5× moleculer-web`, value: x(m), status: judge(m, m >= 1.5) });
    const hop = hopCost(top);
    out.push({ what: `gateway hop, ${top} in flight: 1 − micro api / direct calls/s ≤ 25 %`, value: pct(hop), status: judge(hop, hop <= 0.25) });
    const one = GATEWAY_CONCURRENCY[0]!;
    const extra = p50Extra(one) / gwMed(DIRECT, one, "p50");
    out.push({ what: `gateway hop, ${one} in flight: micro api p50 ≤ 1.25× direct p50`, value: `${signedUs(p50Extra(one))} (${Number.isFinite(extra) ? `+${pct(extra)}` : "–"})`, status: judge(extra, extra <= 0.25) });
    // The same two against the same HTTP client calling the greeter itself, and where a relay that parses nothing lands.
    const hopMucp = hopCost(top, MICRO_API, MUCP);
    out.push({ what: `gateway hop, ${top} in flight: 1 − micro api / direct mucp calls/s ≤ 25 %`, value: pct(hopMucp), status: judge(hopMucp, hopMucp <= 0.25) });
    const extraMucp = p50Extra(one, MICRO_API, MUCP) / gwMed(MUCP, one, "p50");
    out.push({ what: `gateway hop, ${one} in flight: micro api p50 ≤ 1.25× direct mucp p50`, value: `${signedUs(p50Extra(one, MICRO_API, MUCP))} (${Number.isFinite(extraMucp) ? `+${pct(extraMucp)}` : "–"})`, status: judge(extraMucp, extraMucp <= 0.25) });
    const floor = hopCost(top, RELAY, MUCP);
    out.push({ what: `(floor, not a target) TCP relay, ${top} in flight: 1 − relay / direct mucp calls/s`, value: pct(floor), status: "info" });
    const floorOne = p50Extra(one, RELAY, MUCP) / gwMed(MUCP, one, "p50");
    out.push({ what: `(floor, not a target) TCP relay, ${one} in flight: p50 over direct mucp`, value: `${signedUs(p50Extra(one, RELAY, MUCP))} (${Number.isFinite(floorOne) ? `+${pct(floorOne)}` : "–"})`, status: "info" });
  }
  const r = registryFigures;
  if (r && !r.skipped) {
    const nodes = `${int(SEED_SERVICES * NODES_PER_SERVICE)} nodes / ${int(SEED_SERVICES)} services`;
    const list = median(r.listMs);
    out.push({ what: `etcd, ${nodes}: micro list services < 1 s`, value: ms(list), status: judge(list, list < 1000) });
    const get = median(r.getMs);
    out.push({ what: `etcd, ${nodes}: micro get service < 1 s`, value: ms(get), status: judge(get, get < 1000) });
    const c = r.churn;
    out.push({
      what: `etcd churn ${CHURN_RATE} ops/s for ${CHURN_SECONDS} s: every one of ${CHURN_CACHES} caches equals etcd`,
      value: c ? (churnCorrect(c) ? "yes" : `no (${c.mismatches} mismatch(es))`) : "–",
      status: c ? (churnCorrect(c) ? "PASS" : "HARD FAIL") : "n/a",
    });
  }
  return out;
}

function rawSection(): string {
  const parts: string[] = [];
  const rows: string[][] = [];
  for (const f of FRAMEWORKS) {
    for (const s of RUN_SCENARIOS) {
      const rs = results.get(f.name)?.get(s.name) ?? [];
      for (let r = 0; r < ROUNDS; r++) {
        const v = rs[r];
        rows.push([f.name, s.name, String(r + 1), v ? int(v.callsPerSec) : "–", v ? String(v.calls) : "–", v ? us(v.p50) : "–", v ? us(v.p99) : "–", v ? us(v.mean) : "–", v ? String(v.failed) : "–"]);
      }
    }
  }
  if (THROUGHPUT) parts.push(table(["framework", "scenario", "round", "calls/s", "calls", "p50", "p99", "mean", "failed"], rows));
  if (GATEWAY) {
    const grows: string[][] = [];
    for (const g of GATEWAYS) {
      for (const c of GATEWAY_CONCURRENCY) {
        const rs = gatewayResults.get(g)?.get(c) ?? [];
        for (let r = 0; r < ROUNDS; r++) {
          const v = rs[r];
          grows.push([g, String(c), String(r + 1), v ? int(v.callsPerSec) : "–", v ? String(v.calls) : "–", v ? us(v.p50) : "–", v ? us(v.p99) : "–", v ? fixed(v.serverUs) : "–", v ? pct(v.cpu) : "–", v ? String(v.failed) : "–"]);
        }
      }
    }
    parts.push(table(["gateway", "in flight", "round", "calls/s", "calls", "p50", "p99", "server µs/call", "load gen CPU", "failed"], grows));
  }
  const srows: string[][] = [];
  for (const [name, runs] of startups) runs.forEach((r, i) => srows.push([name, String(i + 1), `${fixed(r.callable)} ms`, `${fixed(r.ready)} ms`, `${fixed(r.rssMB)} MB`]));
  if (srows.length) parts.push(table(["start-up", "run", "spawn → callable", "spawn → ready line", "idle RSS"], srows));
  if (selectorRows.length) parts.push(table(["selector", "strategy", "picks/s per round"], selectorRows.map((r) => [r.name, r.strategy, r.rounds.map(int).join(", ")])));
  const reg = registryFigures;
  if (reg && !reg.skipped) {
    parts.push(table(["registry (etcd)", "ms per run"], [
      ["micro list services", reg.listMs.map((v) => fixed(v, 0)).join(", ")],
      ["micro get service", reg.getMs.map((v) => fixed(v, 0)).join(", ")],
      ["seeding (not timed against a target)", fixed(reg.seedMs, 0)],
    ]));
  }
  return parts.join("\n\n");
}

// ---- main -------------------------------------------------------------------

const started = new Date();
const t0 = performance.now();
note(`micro-ts bench: ${FRAMEWORKS.map((f) => f.name).join(", ")} × ${RUN_SCENARIOS.map((s) => s.name).join(", ")}; ` +
  `${ROUNDS} round(s) of ${DURATION_MS / 1000} s (+${WARMUP_MS / 1000} s warm-up)${PIN ? `; servers on cpu ${SERVER_CPU}, clients on cpu ${CLIENT_CPU}` : ""}` +
  `${GATEWAY ? "; gateway section on" : ""}${sectionList.length ? `; sections: ${sectionList.join(", ")}` : ""}`);

for (let round = 0; THROUGHPUT && round < ROUNDS; round++) {
  const order = FRAMEWORKS.map((_, i) => FRAMEWORKS[(i + round) % FRAMEWORKS.length]!);
  for (const fw of order) {
    const t = performance.now();
    try {
      await throughputRound(fw, round, RUN_SCENARIOS);
    } catch (err) {
      failures.push(`${fw.name} round ${round + 1}: ${(err as Error).message}`);
    }
    const got = RUN_SCENARIOS.map((s) => `${s.name} ${int(results.get(fw.name)?.get(s.name)?.[round]?.callsPerSec ?? NaN)}/s`).join(", ");
    note(`round ${round + 1}/${ROUNDS} ${fw.name.padEnd(18)} ${got}  (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
}

for (let round = 0; GATEWAY && round < ROUNDS; round++) {
  for (const target of GATEWAYS.map((_, i) => GATEWAYS[(i + round) % GATEWAYS.length]!)) {
    const t = performance.now();
    try {
      await gatewayRound(target, round);
    } catch (err) {
      failures.push(`gateway ${target} round ${round + 1}: ${(err as Error).message}`);
    }
    const got = GATEWAY_CONCURRENCY.map((c) => `${c}: ${int(gatewayResults.get(target)?.get(c)?.[round]?.callsPerSec ?? NaN)}/s`).join(", ");
    note(`gateway round ${round + 1}/${ROUNDS} ${target.padEnd(24)} ${got}  (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
}

// go-compat shares micro-ts's server: one start-up series per server script.
const scripts = FRAMEWORKS.filter((f, i) => FRAMEWORKS.findIndex((g) => g.script === f.script) === i);
const startupRuns = runs("startup") ? STARTUP_RUNS : 0;
for (let run = 0; run < startupRuns; run++) {
  for (const fw of scripts.map((_, i) => scripts[(i + run) % scripts.length]!)) {
    try {
      await startupRun(fw);
    } catch (err) {
      failures.push(`start-up ${fw.name} run ${run + 1}: ${(err as Error).message}`);
    }
  }
}
if (startupRuns > 0) note(`start-up: ${startupRuns} run(s) per framework done`);

if (SELECTOR_ROUNDS > 0 && has("micro-ts") && runs("selector")) {
  try {
    await selectorBench();
    note("selector: done");
  } catch (err) {
    failures.push(`selector: ${(err as Error).message}`);
  }
}

if (REGISTRY && runs("registry")) await registrySection();

const tgs = targets();
// A run limited to some sections leaves out the other sections' unmeasured rows.
const shown = sectionList.length ? tgs.filter((t) => t.status !== "n/a") : tgs;
const targetTable = table(["target", "this run", "status"], shown.map((t) => [t.what, t.value, t.status]));
const sections = [
  ...(THROUGHPUT ? ["## Throughput\n\n" + throughputTable(), "## Latency\n\n" + latencyTable()] : []),
  ...(GATEWAY ? [`## API gateway: GET ${GATEWAY_PATH} through the rpc handler\n\n` + gatewayTables()] : []),
  ...(startups.size ? ["## Start-up and idle RSS\n\n" + startupTable()] : []),
  ...(selectorRows.length ? ["## Selector\n\n" + selectorTable()] : []),
  ...(registryFigures ? ["## Registry (etcd)\n\n" + registryTable(registryFigures)] : []),
  "## Targets\n\n" + targetTable,
];
const short = (t: Target) => t.status === "MISS" || t.status === "HARD FAIL";
const missed = tgs.filter((t) => !t.stretch && short(t));
const stretchMissed = tgs.filter((t) => t.stretch && short(t));
const summary = [
  failures.length
    ? `FAILED: ${failures.length} problem(s):\n${failures.map((f) => `  - ${f}`).join("\n")}`
    : `All calls succeeded and every reply was checked.${churnCorrect(registryFigures?.churn) ? " Every registry cache ended equal to etcd." : ""}`,
  missed.length
    ? `Targets missed:\n${missed.map((t) => `  - ${t.status}: ${t.what} (${t.value})`).join("\n")}`
    : tgs.some((t) => t.status === "PASS") ? "All measured targets met." : "No target could be measured in this run.",
  ...(stretchMissed.length ? [`Stretch rows (16 KiB, not issue 3's targets) short of the tiny-payload ratios:\n${stretchMissed.map((t) => `  - ${t.what} (${t.value})`).join("\n")}`] : []),
].join("\n");
note("\n" + sections.join("\n\n") + "\n\n" + summary);

const cpu = cpus();
const report = `# micro-ts benchmark results

Written by \`npm run bench\` (bench/run.ts) on ${started.toISOString()}; the run took ${((performance.now() - t0) / 1000).toFixed(0)} s.

## Machine

- ${cpu.length} cores, ${cpu[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM
- Linux ${release()}, Node ${process.version}
- ${PIN ? `servers pinned to cpu ${SERVER_CPU}, clients (and probes, the selector bench, the gateway load generator) to cpu ${CLIENT_CPU} with taskset; in the gateway section the gateway and the greeter service share cpu ${SERVER_CPU}` : "no CPU pinning"}

## Settings

- rounds ${ROUNDS} (framework order rotated each round), ${DURATION_MS / 1000} s measured per scenario after ${WARMUP_MS / 1000} s warm-up; each client process first runs one ${WARMUP_MS / 1000} s warm-up pass over all its scenarios (JIT), not counted
- frameworks: ${FRAMEWORKS.map((f) => f.name).join(", ")}; scenarios: ${RUN_SCENARIOS.map((s) => s.name).join(", ")}
- scenarios are \`<payload>-<calls in flight>\`: tiny = \`{"name":"John"}\` → \`{"msg":"Hello John"}\`; 16k = the same plus a 16384-char \`data\` echoed back. Every reply's content is checked.
${GATEWAY ? `- gateway: GET ${GATEWAY_PATH} → go.micro.srv.greeter Say.Hello (rpc handler), HTTP/1.1 keep-alive, one connection per call in flight, ${GATEWAY_CONCURRENCY.join(" / ")} in flight, ${ROUNDS} round(s) with the order rotated; every reply must be HTTP 200 and exactly {"msg":"Hello John"}. Per target: the greeter and the gateway are two processes${PIN ? ` both on cpu ${SERVER_CPU}` : ""}, the load generator (bench/gateway.ts, a keep-alive client over net.Socket) ${PIN ? `on cpu ${CLIENT_CPU}` : "unpinned"}. micro api is the real CLI (\`node .bench-build/bench/micro.js … api --handler=rpc --namespace=go.micro.srv\`, its access log to /dev/null) before a micro-ts greeter; node:http proxy is a bare node:http server calling the same greeter with the micro-ts Client (bench/peers/http-proxy.ts); moleculer-web 0.10 runs in its own broker before a Moleculer greeter over the TCP transporter (bench/peers/moleculer-web.ts); direct has no gateway: the load generator calls the greeter with the micro-ts Client in-process; direct mucp is the same keep-alive HTTP client sending the call as the mucp request it is (POST / with Micro-Service and Micro-Endpoint, JSON body) straight to the greeter; TCP relay is that request through a Node process beside the greeter that pipes bytes one connection to one and parses nothing (bench/peers/tcp-relay.ts), the floor under any gateway that is a process of its own. Hop cost = 1 − gateway / direct calls/s, and gateway p50 − direct p50.
` : ""}- start-up: ${STARTUP_RUNS} run(s) per framework; a client (probe) is already running and polling every 2 ms when the server is spawned; "callable" is spawn → its first good reply (micro-ts: found through the LocalRegistry). Idle RSS is VmRSS of the server ${IDLE_MS / 1000} s after that reply (MB = 10^6 bytes).
- selector: ${SELECTOR_ROUNDS} round(s) of ~1 s each after 0.3 s warm-up, one service of 100 nodes.
${registryFigures && !registryFigures.skipped ? `- registry: one etcd ${registryFigures.etcd} member on 127.0.0.1, no CPU pinning. ${int(SEED_SERVICES * NODES_PER_SERVICE)} nodes over ${int(SEED_SERVICES)} services seeded (no TTL); \`micro list services\` and \`micro get service ${GET_SERVICE}\` are each a whole process (\`node .bench-build/bench/micro.js\`, what bin/micro.js runs from dist/), timed spawn → exit, ${CLI_RUNS} runs each, median. Churn: ${CHURN_RATE} operations/s for ${CHURN_SECONDS} s over ${CHURN_SERVICES} more services (15 keep one permanent node), ${CHURN_CACHES} client processes each watching through a CacheRegistry and looking a service up every 20 ms when it is not cached; after the churn, up to the TTL + ${SETTLE_MS / 1000} s for etcd to drop the expired nodes and equal the driver's own record, then up to ${SETTLE_MS / 1000} s for every cache to equal etcd (node ids, addresses and metadata per version). Lag: from each put's reply (or its issue) in the driver to the moment a cache's watcher handed it the event, over every cache.
` : ""}- medians are over rounds; ratios are micro-ts / peer from the medians of this run.
${FILTERED ? `- filtered run: BENCH_ONLY=${env.BENCH_ONLY ?? ""} BENCH_SCENARIOS=${env.BENCH_SCENARIOS ?? ""} BENCH_SECTIONS=${env.BENCH_SECTIONS ?? ""}\n` : ""}
## Commands

\`\`\`sh
${[`BENCH_ROUNDS=${ROUNDS} BENCH_DURATION=${DURATION_MS / 1000} BENCH_WARMUP=${WARMUP_MS / 1000} npm run bench`, ...[...commands].map(([k, v]) => `# ${k}\n${v}`)].join("\n")}
\`\`\`

${sections.join("\n\n")}

## Summary

\`\`\`
${summary}
\`\`\`

## Every round

${rawSection()}
`;
await writeFile(OUT, report);
note(`\nwrote ${relative(ROOT, OUT).startsWith("..") ? OUT : relative(ROOT, OUT)}`);
if (live.size) note(`bench: ${live.size} child process(es) still running; killing them`);
process.exit(failures.length ? 1 : 0);
