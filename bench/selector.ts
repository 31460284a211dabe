// Selector picks per second with one service of 100 nodes, in-process.
// Run as its own process by run.ts (clean JIT state); prints one JSON line:
//   {"rows":[{"name":..., "strategy":..., "rounds":[picks/s,...]}]}
// Three paths: selectNow() over a CacheRegistry holding the 100 nodes (what
// every client call does: the target figure, "100 nodes in the cache"), the
// async select() over the same cache (used only on a cache miss), and select()
// straight over the MemoryRegistry (no cache: a copy of the answer per pick).
import { performance } from "node:perf_hooks";
import { CacheRegistry, MemoryRegistry, Selector, type Strategy } from "../src/index.js";

const NAME = "go.micro.srv.greeter";
const rounds = Number(process.env.BENCH_SELECTOR_ROUNDS ?? 5);
const measureMs = 1000;
const warmupMs = 300;

const memory = new MemoryRegistry();
await memory.register({
  name: NAME,
  version: "latest",
  metadata: null,
  endpoints: null,
  nodes: Array.from({ length: 100 }, (_, i) => ({ id: `${NAME}-${i}`, address: `127.0.0.1:${10000 + i}`, metadata: null })),
});
const cache = new CacheRegistry(memory);
const answer = await cache.getService(NAME); // fills the cache
if ((answer[0]?.nodes?.length ?? 0) !== 100) throw new Error("registry does not hold 100 nodes");

/** select() picks/s over ~ms; the clock is read once per batch so it costs little. */
async function measure(pickOnce: () => Promise<unknown> | unknown, ms: number): Promise<number> {
  const batch = 1000;
  let n = 0;
  const start = performance.now();
  let t = start;
  while (t - start < ms) {
    for (let i = 0; i < batch; i++) await pickOnce();
    n += batch;
    t = performance.now();
  }
  return n / ((t - start) / 1000);
}

/** The same for the synchronous selectNow(): no await per pick. */
async function measureSync(pickOnce: () => unknown, ms: number): Promise<number> {
  const batch = 10_000;
  let n = 0;
  let sink = 0;
  const start = performance.now();
  let t = start;
  while (t - start < ms) {
    for (let i = 0; i < batch; i++) if (pickOnce()) sink++;
    n += batch;
    t = performance.now();
  }
  if (sink !== n) throw new Error("pick returned nothing");
  return n / ((t - start) / 1000);
}

const rows: { name: string; strategy: Strategy; rounds: number[] }[] = [];
for (const strategy of ["roundrobin", "random"] as const) {
  const paths: [string, () => Promise<number>][] = [
    ["select() over MemoryRegistry", async () => {
      const s = new Selector(memory, { strategy });
      return measure(() => s.select(NAME), measureMs);
    }],
    ["select() over CacheRegistry", async () => {
      const s = new Selector(cache, { strategy });
      return measure(() => s.select(NAME), measureMs);
    }],
    ["selectNow() over CacheRegistry", async () => {
      const s = new Selector(cache, { strategy });
      return measureSync(() => s.selectNow(NAME), measureMs);
    }],
  ];
  for (const [name, run] of paths) {
    // Warm-up with the same code path, then the measured rounds.
    const warm = new Selector(name.includes("Cache") ? cache : memory, { strategy });
    if (name.startsWith("selectNow")) await measureSync(() => warm.selectNow(NAME), warmupMs);
    else await measure(() => warm.select(NAME), warmupMs);
    const figures: number[] = [];
    for (let r = 0; r < rounds; r++) figures.push(await run());
    rows.push({ name, strategy, rounds: figures });
  }
}
await cache.close();
await memory.close();
process.stdout.write(JSON.stringify({ rows }) + "\n");
process.exit(0);
