// A watch under churn, against a real etcd: a driver does 100 registry
// operations a second for 5 s (new nodes, re-registrations with changed
// metadata, some under another version, deregistrations, 2 s TTL nodes left to
// expire) over 20 services
// while caches watch: two in this process from the start, one in its own
// process (bench/cache-view.ts), one that joins mid-churn. Once churn stops
// and the TTL nodes expired, every cache must hold what etcd holds and what
// the driver did. A control cache that drops update events must be caught.
// Shared with the bench's registry section: bench/churn.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EtcdRegistry } from "../src/index.js";
import { ChildCache, ChurnDriver, WatchingCache, lags, mismatches, percentile, registryViews, sameView, settle, viewDiff, wall, type CacheView, type View } from "../bench/churn.js";
import { startEtcd } from "./etcd.js";
import { ROOT } from "./helpers.js";

const SERVICES = Array.from({ length: 20 }, (_, i) => `go.micro.srv.churn-${String(i).padStart(2, "0")}`);
const ANCHORED = 15; // these keep one permanent node: only the watch keeps their entries current
const CHURN_MS = 5_000;
const TTL_MS = 2_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Watching {
  label: string;
  /** Watching from before the churn: must have seen every event. */
  fromStart: boolean;
  snapshot(): Promise<{ views: Record<string, CacheView>; seen: ReadonlyMap<string, number> }>;
  close(): Promise<void>;
}

function inProcess(label: string, cache: WatchingCache, fromStart: boolean): Watching {
  return { label, fromStart, snapshot: async () => ({ views: await cache.views(SERVICES), seen: cache.observed.seen }), close: () => cache.close() };
}

const ms = (n: number) => `${n.toFixed(1)} ms`;

test("a watch under churn (100 registrations/s) keeps every cache correct", { timeout: 90_000 }, async () => {
  const etcd = await startEtcd();
  const seed = Number(process.env.CHURN_SEED) || Math.floor(Math.random() * 2 ** 31);
  const writer = new EtcdRegistry({ address: etcd.address });
  const checker = new EtcdRegistry({ address: etcd.address });
  const driver = new ChurnDriver(writer, { services: SERVICES, anchored: ANCHORED, rate: 100, durationMs: CHURN_MS, ttlMs: TTL_MS, seed });
  const watching: Watching[] = [];
  let control: WatchingCache | undefined;
  let joining: Promise<void> | undefined;
  try {
    await driver.seedAnchors();
    // Each cache is listed (for closing) before it starts: a failed start leaves nothing open.
    const start = async (cache: WatchingCache) => {
      await cache.start(SERVICES);
      cache.startReading(SERVICES);
    };
    const startInProcess = async (label: string, fromStart: boolean) => {
      const cache = new WatchingCache(etcd.address);
      watching.push(inProcess(label, cache, fromStart));
      await start(cache);
    };
    await startInProcess("in-process A", true);
    await startInProcess("in-process B", true);
    const child = new ChildCache(["--import", "tsx", "bench/cache-view.ts"], { address: etcd.address, services: SERVICES }, ROOT);
    watching.push({ label: `child process ${child.child.pid}`, fromStart: true, snapshot: () => child.views(), close: () => child.close() });
    await child.ready();
    // The check must be able to fail: this cache loses every update event.
    control = new WatchingCache(etcd.address, (event) => event.action === "update");
    await start(control);

    const churnStart = wall();
    joining = (async () => {
      await sleep(CHURN_MS / 2);
      // A client starting mid-churn: its first lookups race the watch it starts.
      await startInProcess("in-process, joined mid-churn", false);
    })();
    await driver.run();
    await joining;
    const c = driver.counts;
    console.log(`churn (seed ${seed}): ${c.register} registrations, ${c.update} updates (+${c.move} to another version), ${c.deregister} deregistrations, ${c.ttl} TTL ${TTL_MS / 1000} s nodes; ` +
      `${driver.achievedRate.toFixed(1)} ops/s, ${c.late} tick(s) late`);
    assert.deepEqual(driver.errors, [], "every registry operation succeeded");

    // etcd drops the TTL nodes shortly after their TTL; then it must hold exactly the driver's truth.
    let truth: Record<string, View> = {};
    const expected = Object.fromEntries(SERVICES.map((n) => [n, driver.expected(n)]));
    const etcdSettled = await settle(async () => {
      truth = await registryViews(checker, SERVICES);
      return SERVICES.every((n) => sameView(expected[n]!, truth[n]!));
    }, Math.max(0, driver.lastTtlAt + TTL_MS - Date.now()) + 5_000);
    assert.ok(etcdSettled, `etcd holds the driver's truth:\n${SERVICES.filter((n) => !sameView(expected[n]!, truth[n]!)).map((n) => `${n}: ${viewDiff(expected[n]!, truth[n]!)}`).join("\n")}`);

    // Every cache, as the selector reads it, within 5 s.
    let wrong: string[] = [];
    const snapshots = new Map<Watching, Awaited<ReturnType<Watching["snapshot"]>>>();
    await settle(async () => {
      wrong = [];
      for (const w of watching) {
        const s = await w.snapshot();
        snapshots.set(w, s);
        wrong.push(...mismatches(s.views, truth, SERVICES, ANCHORED).map((m) => `${w.label}: ${m}`));
      }
      return wrong.length === 0;
    }, 5_000);
    assert.deepEqual(wrong, [], "every cache equals etcd and the driver's truth");

    // Propagation: driver's call resolved (or issued) → the cache got the event.
    const all: number[] = [];
    for (const w of watching) {
      const { seen } = snapshots.get(w)!;
      const lag = lags(driver.resolved, seen);
      all.push(...lag);
      const missed = [...driver.issued].filter(([key, at]) => at >= churnStart && !seen.has(key)).length;
      console.log(`  ${w.label}: ${lag.length} events, lag after the put resolved p50 ${ms(percentile(lag, 50))} p99 ${ms(percentile(lag, 99))}, ` +
        `after it was issued p50 ${ms(percentile(lags(driver.issued, seen), 50))}${w.fromStart ? `, missed ${missed}` : ""}`);
      if (w.fromStart) assert.equal(missed, 0, `${w.label} got an event for every operation`);
    }
    console.log(`propagation lag over ${watching.length} caches (negative: the event beat the put's reply): p50 ${ms(percentile(all, 50))}, p99 ${ms(percentile(all, 99))}`);
    assert.ok(percentile(all, 99) < 3_000, `p99 lag ${ms(percentile(all, 99))} is under a generous 3 s`);

    // The control: a cache that drops updates is wrong somewhere the check looks.
    assert.ok(driver.updatedNodes(SERVICES.slice(0, ANCHORED)) > 0, "churn left a re-registered node in a service that is never looked up again");
    const caught = mismatches(await control.views(SERVICES), truth, SERVICES, ANCHORED);
    assert.ok(caught.length > 0, "the check catches the cache that drops updates");
    console.log(`control cache (drops updates): caught, ${caught.length} service(s) wrong, e.g. ${caught[0]!.slice(0, 200)}`);
  } finally {
    await joining?.catch(() => {});
    await control?.close();
    for (const w of watching) await w.close();
    await writer.close();
    await checker.close();
    await etcd.remove();
  }
});
