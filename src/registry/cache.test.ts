import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { RegisterOptions, Registry, Service, WatchOptions, Watcher } from "./registry.js";
import { CacheRegistry } from "./cache.js";
import { MemoryRegistry } from "./memory.js";
import { QueueWatcher } from "./watcher.js";

/** A MemoryRegistry that counts calls and can be made slow or broken. */
class Flaky implements Registry {
  readonly name = "flaky";
  readonly inner = new MemoryRegistry();
  lookups = 0;
  watches = 0;
  failLookups = false;
  failWatch = false;
  /** ms to wait after reading, before answering: events can overtake the answer. */
  slowAnswer = 0;
  #open = new Set<QueueWatcher>();

  register(s: Service, o?: RegisterOptions): Promise<void> {
    return this.inner.register(s, o);
  }
  deregister(s: Service): Promise<void> {
    return this.inner.deregister(s);
  }
  listServices(): Promise<Service[]> {
    return this.inner.listServices();
  }
  async getService(name: string): Promise<Service[]> {
    this.lookups++;
    if (this.failLookups) throw new Error("registry unreachable");
    const answer = await this.inner.getService(name);
    if (this.slowAnswer) await sleep(this.slowAnswer);
    return answer;
  }
  watch(options?: WatchOptions): Watcher {
    this.watches++;
    if (this.failWatch) {
      const refused = new QueueWatcher();
      refused.fail(new Error("watch refused"));
      return refused;
    }
    const source = this.inner.watch(options);
    const out = new QueueWatcher(() => {
      source.stop();
      this.#open.delete(out);
    });
    this.#open.add(out);
    void (async () => {
      for await (const r of source) out.push(r);
    })();
    return out;
  }
  /** Every open watch fails, as when the connection to a registry server drops. */
  breakWatches(): void {
    for (const w of [...this.#open]) w.fail(new Error("connection lost"));
  }
  get openWatches(): number {
    return this.#open.size;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function svc(name: string, version: string, ids: string[], meta: Record<string, string> | null = null): Service {
  return { name, version, metadata: null, endpoints: null, nodes: ids.map((id) => ({ id, address: `${id}:1`, metadata: meta })) };
}

function shape(services: Service[]): string[] {
  return services.map((s) => `${s.version}:${(s.nodes ?? []).map((n) => n.id).join(",")}`);
}

/** Lets watch events travel through the watcher queues. */
const settle = () => sleep(5);

function setup(ttl = 60_000) {
  const flaky = new Flaky();
  const warnings: string[] = [];
  const cache = new CacheRegistry(flaky, { ttl, logger: { warn: (m) => warnings.push(m) } });
  return { flaky, cache, warnings };
}

async function waitFor(what: string, condition: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test("answers repeat lookups from memory; one watch keeps entries current by node id", async (t) => {
  const { flaky, cache } = setup(50);
  t.after(() => cache.close());
  assert.equal(cache.name, "flaky");
  await flaky.register(svc("s", "1", ["a"]));
  assert.deepEqual(shape(await cache.getService("s")), ["1:a"]);
  assert.deepEqual(shape(await cache.getService("s")), ["1:a"]);
  assert.deepEqual([flaky.lookups, flaky.watches], [1, 1]);

  await flaky.register(svc("s", "1", ["b"]));
  await flaky.register(svc("s", "2", ["c"]));
  await flaky.register(svc("s", "1", ["a"], { zone: "x" }));
  await settle();
  await sleep(60); // past the ttl: with the watch up, entries stay current without lookups
  const got = await cache.getService("s");
  assert.deepEqual(shape(got), ["1:a,b", "2:c"]);
  assert.deepEqual(got[0]!.nodes![0]!.metadata, { zone: "x" });

  await flaky.deregister(svc("s", "2", ["c"]));
  await flaky.deregister(svc("s", "1", ["a"]));
  await settle();
  assert.deepEqual(shape(await cache.getService("s")), ["1:b"], "version 2 went with its last node");
  assert.equal(flaky.lookups, 1);

  await flaky.deregister(svc("s", "1", ["b"]));
  await settle();
  assert.deepEqual(await cache.getService("s"), []);
  assert.equal(flaky.lookups, 2, "an emptied entry is dropped, so the next call asks again");
  assert.equal(flaky.watches, 1, "one watch for every name");

  got[0]!.nodes!.length = 0; // callers get copies
  await flaky.register(svc("t", "1", ["t1"]));
  const first = await cache.getService("t");
  first[0]!.nodes![0]!.id = "mutated";
  assert.deepEqual(shape(await cache.getService("t")), ["1:t1"]);
});

test("concurrent misses for a name share one lookup; events during it are not lost", async (t) => {
  const { flaky, cache } = setup();
  t.after(() => cache.close());
  await flaky.register(svc("s", "1", ["a", "b"]));
  flaky.slowAnswer = 50;
  const pending = Promise.all([1, 2, 3, 4, 5].map(() => cache.getService("s")));
  await sleep(10);
  // The answer was read already; these overtake it.
  await flaky.deregister(svc("s", "1", ["a"]));
  await flaky.register(svc("s", "1", ["c"]));
  const answers = await pending;
  assert.equal(flaky.lookups, 1);
  for (const a of answers) assert.deepEqual(shape(a), ["1:b,c"]);
  assert.notEqual(answers[0], answers[1]);
  assert.deepEqual(shape(await cache.getService("s")), ["1:b,c"]);
  assert.equal(flaky.lookups, 1);
});

test("serves stale data when the registry fails, warning once per outage; rejects with no data", async (t) => {
  const { flaky, cache, warnings } = setup(40);
  t.after(() => cache.close());
  await flaky.register(svc("s", "1", ["a"]));
  await cache.getService("s");
  flaky.failWatch = true;
  flaky.breakWatches(); // with the watch down the ttl applies
  flaky.failLookups = true;
  await sleep(60);
  const stale = () => warnings.filter((w) => w.includes("serving nodes cached"));
  assert.deepEqual(shape(await cache.getService("s")), ["1:a"]);
  assert.deepEqual(shape(await cache.getService("s")), ["1:a"]);
  assert.equal(stale().length, 1);
  assert.match(stale()[0]!, /looking up s in the flaky registry failed \(registry unreachable\)/);
  assert.equal(flaky.lookups, 3, "each stale answer still tried the registry");
  await assert.rejects(cache.getService("unknown"), /registry unreachable/);

  flaky.failLookups = false;
  await cache.getService("s"); // outage over
  await sleep(60);
  flaky.failLookups = true;
  await cache.getService("s");
  assert.equal(stale().length, 2, "a new outage warns again");
  assert.equal(warnings.filter((w) => w.includes("watching the flaky registry failed")).length, 1);
});

test("a failed watch is retried with backoff; meanwhile entries expire by ttl", async (t) => {
  const { flaky, cache } = setup(100);
  t.after(() => cache.close());
  await flaky.register(svc("s", "1", ["a"]));
  await cache.getService("s");
  flaky.failWatch = true;
  flaky.breakWatches();
  await flaky.register(svc("s", "1", ["b"])); // missed: no watch
  await settle();
  assert.deepEqual(shape(await cache.getService("s")), ["1:a"], "within the ttl: cached");
  assert.equal(flaky.lookups, 1);
  await sleep(120);
  assert.deepEqual(shape(await cache.getService("s")), ["1:a,b"], "past the ttl: asked again");
  assert.equal(flaky.lookups, 2);
  await waitFor("retries", () => flaky.watches >= 3);

  flaky.failWatch = false;
  await waitFor("the watch to come back", () => flaky.openWatches === 1);
  await sleep(120);
  await cache.getService("s"); // stale from the outage: one lookup under the new watch
  assert.equal(flaky.lookups, 3);
  await flaky.register(svc("s", "1", ["c"]));
  await settle();
  await sleep(120);
  assert.deepEqual(shape(await cache.getService("s")), ["1:a,b,c"]);
  assert.equal(flaky.lookups, 3, "current again through the watch, past the ttl");
});

test("invalidate, pass-through calls, and close", async () => {
  const { flaky, cache } = setup();
  await cache.register(svc("s", "1", ["a"]), { ttl: 0 });
  assert.deepEqual(shape(await flaky.getService("s")), ["1:a"]);
  flaky.lookups = 0;
  assert.deepEqual((await cache.listServices()).map((s) => s.name), ["s"]);
  await cache.getService("s");
  cache.invalidate("s");
  await cache.getService("s");
  assert.equal(flaky.lookups, 2);

  const w = cache.watch({ service: "s" });
  await cache.deregister(svc("s", "1", ["a"]));
  assert.equal((await w.next()).action, "delete");
  w.stop();

  assert.equal(flaky.openWatches, 1);
  await cache.close();
  assert.equal(flaky.openWatches, 0, "close stops the cache's watch");
  await cache.getService("s");
  await cache.getService("s");
  assert.equal(flaky.lookups, 4, "after close, lookups go straight through");
  await flaky.close();
});

test("cached(): the current answer without waiting; arrays handed out never change", async (t) => {
  const { flaky, cache } = setup();
  t.after(() => cache.close());
  await flaky.register(svc("s", "1", ["a", "b"]));
  assert.equal(cache.cached("s"), undefined, "nothing before the first lookup");
  await cache.getService("s");
  const first = cache.cached("s")!;
  assert.deepEqual(shape([...first]), ["1:a,b"]);
  assert.equal(cache.cached("s"), first, "the same array while nothing changed: no copy per call");

  await flaky.deregister(svc("s", "1", ["a"]));
  await flaky.register(svc("s", "2", ["c"]));
  await settle();
  assert.deepEqual(shape([...first]), ["1:a,b"], "a holder's array is not changed under it");
  assert.deepEqual(shape([...cache.cached("s")!]), ["1:b", "2:c"]);
  assert.equal(flaky.lookups, 1);

  await flaky.deregister(svc("s", "1", ["b"]));
  await flaky.deregister(svc("s", "2", ["c"]));
  await settle();
  assert.equal(cache.cached("s"), undefined, "gone with its last node");
});
