import { test } from "node:test";
import assert from "node:assert/strict";
import { Selector, filterVersion, filterLabel, filterEndpoint } from "./selector.js";
import type { Registry, Service } from "../registry/registry.js";
import { MicroError } from "../errors/errors.js";

const svc = (version: string, ids: string[], md: Record<string, string> = {}): Service => ({
  name: "s", version, metadata: null, endpoints: [{ name: "A.B", request: null, response: null, metadata: null }],
  nodes: ids.map((id) => ({ id, address: `${id}:1`, metadata: md })),
});

function registryOf(services: Service[]): Registry {
  return { getService: async (n: string) => (n === "s" ? services : []) } as unknown as Registry;
}

test("round robin visits every node in turn across calls", async () => {
  const sel = new Selector(registryOf([svc("1", ["a", "b", "c"])]), { strategy: "roundrobin" });
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) seen.push((await sel.select("s")).id);
  assert.deepEqual(seen.slice(0, 3).sort(), ["a", "b", "c"]);
  assert.deepEqual(seen.slice(3), seen.slice(0, 3));
});

test("random spreads over all versions", async () => {
  const sel = new Selector(registryOf([svc("1", ["a"]), svc("2", ["b"])]));
  const counts = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const id = (await sel.select("s")).id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  assert.ok(counts.get("a")! > 100 && counts.get("b")! > 100, JSON.stringify([...counts]));
});

test("filters narrow by version, label and endpoint", async () => {
  const sel = new Selector(registryOf([svc("1", ["a"], { zone: "x" }), svc("2", ["b"], { zone: "y" })]));
  assert.equal((await sel.select("s", { filters: [filterVersion("2")] })).id, "b");
  assert.equal((await sel.select("s", { filters: [filterLabel("zone", "x")] })).id, "a");
  await assert.rejects(sel.select("s", { filters: [filterEndpoint("X.Y")] }), /none available/);
});

test("a node marked down is skipped until it connects again or its time is up", async () => {
  const sel = new Selector(registryOf([svc("1", ["a", "b"])]), { downTime: 50 });
  sel.mark("a", false);
  for (let i = 0; i < 20; i++) assert.equal((await sel.select("s")).id, "b");
  sel.mark("b", true);
  assert.equal((await sel.select("s")).id, "b");
  // all down: they are tried anyway rather than refusing every call
  sel.mark("b", false);
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) seen.add((await sel.select("s")).id);
  assert.deepEqual([...seen].sort(), ["a", "b"]);
  await new Promise((r) => setTimeout(r, 60));
  sel.mark("b", false);
  for (let i = 0; i < 20; i++) assert.equal((await sel.select("s")).id, "a", "a's time is up");
});

test("an unknown service is upstream's 500 not found", async () => {
  const sel = new Selector(registryOf([]));
  await assert.rejects(sel.select("nope"), (e: unknown) =>
    e instanceof MicroError && e.code === 500 && e.detail === "service nope: not found" && e.id === "go.micro.client");
});

test("selectNow picks from a cache without waiting, and says when a lookup is needed", async () => {
  const { MemoryRegistry } = await import("../registry/memory.js");
  const { CacheRegistry } = await import("../registry/cache.js");
  const mem = new MemoryRegistry();
  const cache = new CacheRegistry(mem);
  await mem.register(svc("1", ["a", "b"]));
  const sel = new Selector(cache, { strategy: "roundrobin" });
  assert.equal(sel.selectNow("s"), undefined);
  await sel.select("s");
  const ids = [sel.selectNow("s")!.id, sel.selectNow("s")!.id];
  assert.deepEqual(ids.sort(), ["a", "b"]);
  sel.mark("a", false);
  assert.deepEqual([sel.selectNow("s")!.id, sel.selectNow("s")!.id], ["b", "b"]);
  // A registry without a cache never answers synchronously.
  assert.equal(new Selector(mem).selectNow("s"), undefined);
  await cache.close();
});
