// Registry churn against etcd, and the checks on the caches that watch it.
// Shared by test/etcd-churn.test.ts and the registry section of the bench
// (bench/registry.ts): a driver that registers, re-registers, deregisters and
// lets short-TTL nodes expire at a fixed rate while keeping its own truth;
// caches (in this process, or one per child process through cache-view.ts)
// that stamp each watch event as they receive it; and one canonical view of a
// service's versions, so the driver's truth, etcd's and every cache's compare
// as strings.
import { spawn, type ChildProcess } from "node:child_process";
import { performance } from "node:perf_hooks";
import { CacheRegistry, EtcdRegistry, type Registry, type RegistryService as Service, type Result, type Watcher } from "../src/index.js";
import { WatcherStoppedError, type RegisterOptions, type WatchOptions } from "../src/registry/registry.js";

/** Wall-clock ms with sub-ms precision, comparable across processes on one machine. */
export const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- views --------------------------------------------------------------------

/** A service as the checks compare it: version → sorted "id address {metadata}" lines; versions without nodes left out. */
export type View = Record<string, string[]>;

export function viewOf(services: readonly Service[] | undefined): View {
  const view: View = {};
  for (const s of services ?? []) {
    const lines = (s.nodes ?? []).map((n) => nodeLine(n.id, n.address, n.metadata));
    if (lines.length) view[s.version] = [...(view[s.version] ?? []), ...lines];
  }
  return canonical(view);
}

function nodeLine(id: string, address: string, metadata: Record<string, string> | null): string {
  const sorted = Object.fromEntries(Object.entries(metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${id} ${address} ${JSON.stringify(sorted)}`;
}

function canonical(view: View): View {
  return Object.fromEntries(Object.keys(view).sort().map((v) => [v, [...view[v]!].sort()]));
}

export const sameView = (a: View, b: View) => JSON.stringify(a) === JSON.stringify(b);

/** What b lacks and has extra compared to a, in one line. */
export function viewDiff(want: View, got: View): string {
  const lines = (v: View) => new Set(Object.entries(v).flatMap(([version, ls]) => ls.map((l) => `${version} ${l}`)));
  const w = lines(want);
  const g = lines(got);
  const missing = [...w].filter((l) => !g.has(l));
  const extra = [...g].filter((l) => !w.has(l));
  return [missing.length ? `missing ${missing.join("; ")}` : "", extra.length ? `extra ${extra.join("; ")}` : ""].filter(Boolean).join(" | ");
}

/** What a registry holds for each name, as views. */
export async function registryViews(registry: Registry, names: readonly string[]): Promise<Record<string, View>> {
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, viewOf(await registry.getService(n))] as const)));
}

/**
 * One line per service where a cache's views differ from `want`. The first
 * `anchored` names always have a node, so they must be answered from memory:
 * a lookup would hide what the watch got wrong.
 */
export function mismatches(views: Record<string, CacheView>, want: Record<string, View>, names: readonly string[], anchored: number): string[] {
  const out: string[] = [];
  names.forEach((name, i) => {
    const got = views[name];
    if (!got) return void out.push(`${name}: no view`);
    if (i < anchored && !got.cached) out.push(`${name}: not in the cache (it always has a node)`);
    if (!sameView(want[name] ?? {}, got.view)) out.push(`${name}: ${viewDiff(want[name] ?? {}, got.view)}`);
  });
  return out;
}

// ---- watch events, stamped ----------------------------------------------------

/** The key a driver operation and the watch event it causes share. */
export function eventKeys({ action, service }: Result): string[] {
  // A delete carries the node as last put: its op tag tells one deletion of an id from another.
  return (service.nodes ?? []).map((n) => `${service.name}/${n.id}#${action === "delete" ? "delete:" : ""}${n.metadata?.op ?? "?"}`);
}

/**
 * A pass-through Registry whose watchers note when each event reaches the
 * consumer (the cache applies it in the same tick). `drop` loses events on
 * purpose: the churn test's control cache, which must be caught.
 */
export class ObservedRegistry implements Registry {
  readonly name: string;
  /** event key → wall time the consumer got it (first time). */
  readonly seen = new Map<string, number>();

  constructor(readonly inner: Registry, private readonly drop?: (event: Result) => boolean) {
    this.name = inner.name;
  }

  register(service: Service, options?: RegisterOptions) {
    return this.inner.register(service, options);
  }
  deregister(service: Service) {
    return this.inner.deregister(service);
  }
  getService(name: string) {
    return this.inner.getService(name);
  }
  listServices() {
    return this.inner.listServices();
  }
  close() {
    return this.inner.close();
  }

  watch(options?: WatchOptions): Watcher {
    const inner = this.inner.watch(options);
    const next = async (): Promise<Result> => {
      for (;;) {
        const event = await inner.next();
        if (this.drop?.(event)) continue;
        const at = wall();
        for (const key of eventKeys(event)) if (!this.seen.has(key)) this.seen.set(key, at);
        return event;
      }
    };
    return {
      next,
      stop: () => inner.stop(),
      [Symbol.asyncIterator]: () => ({
        next: () => next().then(
          (value): IteratorResult<Result, undefined> => ({ value, done: false }),
          (error: unknown): IteratorResult<Result, undefined> => {
            if (error instanceof WatcherStoppedError) return { value: undefined, done: true };
            throw error;
          },
        ),
      }),
    };
  }
}

// ---- a watching cache, as a client process has --------------------------------

export interface CacheView {
  /** Answered from memory (cached()), without a lookup. */
  cached: boolean;
  view: View;
}

/** One CacheRegistry over its own etcd client, looking services up now and then as calls would. */
export class WatchingCache {
  readonly etcd: EtcdRegistry;
  readonly observed: ObservedRegistry;
  readonly cache: CacheRegistry;
  readonly warnings: string[] = [];
  #reading = false;
  #reader: Promise<void> | undefined;

  constructor(address: string, drop?: (event: Result) => boolean) {
    this.etcd = new EtcdRegistry({ address });
    this.observed = new ObservedRegistry(this.etcd, drop);
    this.cache = new CacheRegistry(this.observed, { logger: { warn: (m) => this.warnings.push(m) } });
  }

  /** Looks every name up once: the cache starts its watch and holds each service that has nodes. */
  async start(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((n) => this.cache.getService(n)));
  }

  /**
   * Every `everyMs`, one random name as the selector asks for it: from memory
   * when cached, else a lookup (a service that went empty is looked up again).
   */
  startReading(names: readonly string[], everyMs = 20): void {
    this.#reading = true;
    this.#reader = (async () => {
      while (this.#reading) {
        const name = names[Math.floor(Math.random() * names.length)]!;
        if (!this.cache.cached(name)) await this.cache.getService(name).catch(() => {});
        await sleep(everyMs);
      }
    })();
  }

  async views(names: readonly string[]): Promise<Record<string, CacheView>> {
    const out: Record<string, CacheView> = {};
    for (const name of names) {
      const cached = this.cache.cached(name);
      out[name] = { cached: cached !== undefined, view: viewOf(cached ?? (await this.cache.getService(name))) };
    }
    return out;
  }

  async close(): Promise<void> {
    this.#reading = false;
    await this.#reader;
    await this.cache.close();
    await this.etcd.close();
  }
}

/**
 * A WatchingCache in its own process (cache-view.ts), spoken to in JSON lines:
 * "view" → {views, seen}; "close" → {closed}.
 */
export class ChildCache {
  readonly child: ChildProcess;
  #lines: Record<string, unknown>[] = [];
  #wake: (() => void) | undefined;
  #stderr = "";
  #exited: Promise<void>;
  #exitCode: number | null | undefined;

  /** argv: how to run cache-view (node + tsx + .ts in tests, node + .js in the bench). */
  constructor(argv: string[], options: { address: string; services: readonly string[]; readEveryMs?: number }, cwd: string) {
    this.child = spawn(process.execPath, [...argv, JSON.stringify(options)], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let buf = "";
    this.child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const text = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.#lines.push(JSON.parse(text) as Record<string, unknown>);
        } catch {
          this.#stderr += `(stdout) ${text}\n`;
        }
      }
      this.#poke();
    });
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.#stderr = (this.#stderr + d).slice(-8_000)));
    this.child.stdin!.on("error", () => {}); // a dead child is reported by expect()
    this.#exited = new Promise((resolve) => this.child.once("close", (code, signal) => {
      this.#exitCode = code ?? (signal ? -1 : null);
      this.#poke();
      resolve();
    }));
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async #expect(key: string, ms: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const at = this.#lines.findIndex((l) => key in l);
      if (at >= 0) return this.#lines.splice(0, at + 1).at(-1)!;
      if (this.#exitCode !== undefined) throw new Error(`cache-view exited with ${this.#exitCode} before "${key}": ${this.#stderr.trim().split("\n").at(-1) ?? ""}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`cache-view: no "${key}" within ${ms} ms: ${this.#stderr.trim().split("\n").at(-1) ?? ""}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  ready(ms = 15_000): Promise<unknown> {
    return this.#expect("ready", ms);
  }

  async views(ms = 5_000): Promise<{ views: Record<string, CacheView>; seen: Map<string, number> }> {
    this.child.stdin!.write("view\n");
    const line = await this.#expect("views", ms);
    if (line.views === null) throw new Error(`cache-view: ${String(line.error)}`);
    return { views: line.views as Record<string, CacheView>, seen: new Map(Object.entries(line.seen as Record<string, number>)) };
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Asks it to close; SIGKILL when it has not exited within 3 s. Always waits for the exit. */
  async close(): Promise<void> {
    if (this.#exitCode !== undefined) return;
    this.child.stdin!.end("close\n");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

// ---- the driver -----------------------------------------------------------------

export interface ChurnOptions {
  services: readonly string[];
  /** The first `anchored` services keep one permanent node: their cache entries never empty, so only the watch keeps them current. */
  anchored: number;
  /** Operations per second. */
  rate: number;
  durationMs: number;
  /** TTL of the nodes registered to expire (ms). */
  ttlMs: number;
  /** TTL of every other node (ms): long, renewed by re-registration as a service does. */
  liveTtlMs?: number;
  /** PRNG seed: the same seed picks the same operations. */
  seed: number;
  maxInFlight?: number;
}

interface TruthNode {
  version: string;
  address: string;
  metadata: Record<string, string>;
  kind: "anchor" | "live" | "ttl";
  /** An operation on it is in flight: not picked again until it settles. */
  busy: boolean;
}

export interface ChurnCounts {
  register: number;
  update: number;
  /** Updates that also changed the node's version. */
  move: number;
  deregister: number;
  ttl: number;
  /** Ticks that had to wait for a free slot (maxInFlight operations in flight). */
  late: number;
}

export class ChurnDriver {
  /** The driver's truth: service → node id → node, as of the operations that resolved. */
  readonly truth = new Map<string, Map<string, TruthNode>>();
  /** event key → wall time the operation was issued / resolved. */
  readonly issued = new Map<string, number>();
  readonly resolved = new Map<string, number>();
  readonly counts: ChurnCounts = { register: 0, update: 0, move: 0, deregister: 0, ttl: 0, late: 0 };
  readonly errors: string[] = [];
  /** When the last TTL registration resolved (wall ms); 0 when none. */
  lastTtlAt = 0;
  /** Measured: operations issued per second of churn. */
  achievedRate = 0;
  #random: () => number;
  #op = 0;
  #ids = 0;

  constructor(private readonly registry: Registry, private readonly options: ChurnOptions) {
    this.#random = mulberry32(options.seed);
    for (const name of options.services) this.truth.set(name, new Map());
  }

  /** Registers the anchors (before the caches start). */
  async seedAnchors(): Promise<void> {
    await Promise.all(this.options.services.slice(0, this.options.anchored).map((name) =>
      this.#register(name, "anchor", "1.0.0")));
  }

  /** options.rate operations a second for options.durationMs; resolves when the last one settled. */
  async run(): Promise<void> {
    const { rate, durationMs, maxInFlight = 100 } = this.options;
    const interval = 1000 / rate;
    const inFlight = new Set<Promise<void>>();
    const t0 = performance.now();
    let n = 0;
    for (;; n++) {
      const at = n * interval;
      if (at >= durationMs) break;
      const wait = t0 + at - performance.now();
      if (wait > 0) await sleep(wait);
      if (inFlight.size >= maxInFlight) {
        this.counts.late++;
        await Promise.race(inFlight);
      }
      const op = this.#step().catch((err: unknown) => {
        this.errors.push((err as Error)?.message ?? String(err));
      });
      inFlight.add(op);
      void op.then(() => inFlight.delete(op));
    }
    this.achievedRate = n / ((performance.now() - t0) / 1000);
    await Promise.all(inFlight);
  }

  /** What etcd and every cache must hold once churn stopped and every TTL node expired. */
  expected(name: string): View {
    const view: View = {};
    for (const [id, n] of this.truth.get(name) ?? []) {
      if (n.kind === "ttl") continue;
      (view[n.version] ??= []).push(nodeLine(id, n.address, n.metadata));
    }
    return canonical(view);
  }

  /** Live nodes of these services that were re-registered since their registration: what a cache that drops updates gets wrong. */
  updatedNodes(names: readonly string[]): number {
    let n = 0;
    for (const name of names) for (const node of this.truth.get(name)?.values() ?? []) if (node.kind === "live" && node.metadata.gen !== "0") n++;
    return n;
  }

  #pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.#random() * xs.length)]!;
  }

  #step(): Promise<void> {
    const name = this.#pick(this.options.services);
    const anchored = this.options.services.indexOf(name) < this.options.anchored;
    const movable = [...this.truth.get(name)!].filter(([, n]) => n.kind === "live" && !n.busy).map(([id]) => id);
    // Services without an anchor lean to deregistration, so they empty now and then.
    const r = this.#random();
    const [reg, upd, move, dereg] = anchored ? [0.33, 0.6, 0.65, 0.85] : [0.3, 0.45, 0.5, 0.85];
    if (r < reg || (r < dereg && movable.length === 0)) return this.#register(name, "live", this.#random() < 0.7 ? "1.0.0" : "2.0.0");
    if (r < upd) return this.#update(name, this.#pick(movable), false);
    if (r < move) return this.#update(name, this.#pick(movable), true);
    if (r < dereg) return this.#deregister(name, this.#pick(movable));
    return this.#register(name, "ttl", "1.0.0");
  }

  #service(name: string, version: string, id: string, node: Pick<TruthNode, "address" | "metadata">): Service {
    return { name, version, metadata: null, endpoints: null, nodes: [{ id, address: node.address, metadata: { ...node.metadata } }] };
  }

  async #register(name: string, kind: TruthNode["kind"], version: string): Promise<void> {
    const id = `${name}-${++this.#ids}`;
    const op = String(++this.#op);
    const node: TruthNode = {
      version,
      address: `10.${this.#ids >> 16 & 255}.${this.#ids >> 8 & 255}.${this.#ids & 255}:${8000 + (this.#ids % 1000)}`,
      metadata: { op, gen: "0", zone: this.#pick(["a", "b", "c"]) },
      kind,
      busy: true,
    };
    const ttl = kind === "ttl" ? this.options.ttlMs : kind === "live" ? (this.options.liveTtlMs ?? 60_000) : 0;
    const key = `${name}/${id}#${op}`;
    this.issued.set(key, wall());
    this.counts[kind === "ttl" ? "ttl" : "register"]++;
    await this.registry.register(this.#service(name, version, id, node), ttl ? { ttl } : {});
    const done = wall();
    this.resolved.set(key, done);
    if (kind === "ttl") this.lastTtlAt = done;
    node.busy = false;
    this.truth.get(name)!.set(id, node);
  }

  /** Re-registers with changed metadata; `move`: under the other version too, as a node upgraded in place. */
  async #update(name: string, id: string, move: boolean): Promise<void> {
    const node = this.truth.get(name)!.get(id)!;
    node.busy = true;
    const op = String(++this.#op);
    const metadata = { op, gen: String(Number(node.metadata.gen) + 1), zone: this.#pick(["a", "b", "c"]) };
    const version = move ? (node.version === "1.0.0" ? "2.0.0" : "1.0.0") : node.version;
    const key = `${name}/${id}#${op}`;
    this.issued.set(key, wall());
    this.counts[move ? "move" : "update"]++;
    await this.registry.register(this.#service(name, version, id, { ...node, metadata }), { ttl: this.options.liveTtlMs ?? 60_000 });
    this.resolved.set(key, wall());
    node.metadata = metadata;
    node.version = version;
    node.busy = false;
  }

  async #deregister(name: string, id: string): Promise<void> {
    const node = this.truth.get(name)!.get(id)!;
    node.busy = true;
    const key = `${name}/${id}#delete:${node.metadata.op}`;
    this.issued.set(key, wall());
    this.counts.deregister++;
    await this.registry.deregister(this.#service(name, node.version, id, node));
    this.resolved.set(key, wall());
    this.truth.get(name)!.delete(id);
  }
}

// ---- figures --------------------------------------------------------------------

/** Lags (ms) from each driver operation to the moment a cache got its event; operations it never saw are left out. */
export function lags(from: ReadonlyMap<string, number>, seen: ReadonlyMap<string, number>): number[] {
  const out: number[] = [];
  for (const [key, at] of seen) {
    const t = from.get(key);
    if (t !== undefined) out.push(at - t);
  }
  return out;
}

/** Nearest-rank percentile; NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))]!;
}

/** Polls until check() is true or ms passed; returns whether it became true. */
export async function settle(check: () => Promise<boolean>, ms: number, everyMs = 100): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= until) return false;
    await sleep(everyMs);
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
