import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { type Result, type Service, type Watcher, WatcherStoppedError } from "./registry.js";
import { MemoryRegistry } from "./memory.js";
import { withTimeout } from "../util/timeout.js";

function svc(name: string, version: string, ids: string[], meta: Record<string, string> = {}): Service {
  return {
    name,
    version,
    metadata: null,
    endpoints: [{ name: "Say.Hello", request: { name: "req", type: "Req", values: null }, response: null, metadata: null }],
    nodes: ids.map((id) => ({ id, address: `127.0.0.1:${id.length}`, metadata: { ...meta } })),
  };
}

/** The next event, or a failure after `ms` (a ref'd timer: the registry's own never keep the loop alive). */
function next(w: Watcher, ms = 1000): Promise<Result> {
  return withTimeout(w.next(), ms, `no event within ${ms} ms`);
}

test("getService merges nodes per version and returns deep copies", async () => {
  const r = new MemoryRegistry();
  assert.equal(r.name, "memory");
  await r.register(svc("greeter", "1", ["a"]));
  await r.register(svc("greeter", "1", ["b"]));
  await r.register(svc("greeter", "2", ["c"]));
  const got = await r.getService("greeter");
  assert.deepEqual(
    got.map((s) => [s.version, s.nodes!.map((n) => n.id)]),
    [["1", ["a", "b"]], ["2", ["c"]]],
  );
  got[0]!.nodes![0]!.metadata!["x"] = "mutated";
  got[0]!.endpoints![0]!.name = "mutated";
  const again = await r.getService("greeter");
  assert.deepEqual(again[0]!.nodes![0]!.metadata, {});
  assert.equal(again[0]!.endpoints![0]!.name, "Say.Hello");
  assert.deepEqual(await r.getService("nope"), []);
  await r.close();
});

test("listServices: one entry per name and version, sorted by name", async () => {
  const r = new MemoryRegistry();
  await r.register(svc("zeta", "1", ["z1"]));
  await r.register(svc("alpha", "2", ["a2"]));
  await r.register(svc("alpha", "1", ["a1", "a1b"]));
  const list = await r.listServices();
  assert.deepEqual(list.map((s) => `${s.name}@${s.version}`), ["alpha@1", "alpha@2", "zeta@1"]);
  await r.close();
});

test("deregister removes nodes and the version with its last node", async () => {
  const r = new MemoryRegistry();
  await r.register(svc("s", "1", ["a", "b"]));
  await r.deregister(svc("s", "1", ["a"]));
  assert.deepEqual((await r.getService("s"))[0]!.nodes!.map((n) => n.id), ["b"]);
  await r.deregister(svc("s", "1", ["b"]));
  assert.deepEqual(await r.getService("s"), []);
  await r.deregister(svc("s", "1", ["b"])); // unknown: no error
  await r.close();
});

test("register rejects a service without a name (never throws synchronously)", async () => {
  const r = new MemoryRegistry();
  const p = r.register({ ...svc("x", "1", ["a"]), name: "" });
  await assert.rejects(p, /name is required/);
});

test("nodes expire after their ttl and expiry is a delete event", async () => {
  const r = new MemoryRegistry();
  const w = r.watch();
  await r.register(svc("s", "1", ["short"]), { ttl: 100 });
  await r.register(svc("s", "1", ["forever"]), { ttl: 0 });
  assert.equal((await next(w)).action, "create");
  assert.equal((await next(w)).action, "create");
  const expired = await next(w, 500);
  assert.equal(expired.action, "delete");
  assert.deepEqual(expired.service.nodes!.map((n) => n.id), ["short"]);
  assert.deepEqual((await r.getService("s"))[0]!.nodes!.map((n) => n.id), ["forever"]);
  await r.close();
});

test("re-registering refreshes the ttl", async () => {
  const r = new MemoryRegistry();
  await r.register(svc("s", "1", ["a"]), { ttl: 150 });
  await sleep(100);
  await r.register(svc("s", "1", ["a"]), { ttl: 150 });
  await sleep(100);
  assert.equal((await r.getService("s")).length, 1);
  await sleep(100);
  assert.equal((await r.getService("s")).length, 0);
  await r.close();
});

test("watch: create, update only on changed content, delete; one node per event; filter by service", async () => {
  const r = new MemoryRegistry();
  const all = r.watch();
  const onlyB = r.watch({ service: "b" });
  await r.register(svc("a", "1", ["a1", "a2"]));
  const c1 = await next(all);
  const c2 = await next(all);
  assert.deepEqual([c1.action, c2.action], ["create", "create"]);
  assert.deepEqual([c1.service.nodes!.length, c2.service.nodes!.length], [1, 1]);
  assert.equal(c1.service.endpoints![0]!.name, "Say.Hello");

  await r.register(svc("a", "1", ["a1"])); // same content: no event
  await r.register(svc("a", "1", ["a1"], { zone: "x" })); // changed: update
  const u = await next(all);
  assert.equal(u.action, "update");
  assert.deepEqual(u.service.nodes![0]!.metadata, { zone: "x" });

  await r.register(svc("b", "1", ["b1"]));
  assert.equal((await next(all)).service.name, "b");
  const b = await next(onlyB);
  assert.equal(b.action, "create");
  assert.equal(b.service.name, "b");

  await r.deregister(svc("a", "1", ["a1"]));
  const d = await next(all);
  assert.equal(d.action, "delete");
  assert.deepEqual(d.service.nodes![0]!.metadata, { zone: "x" }, "delete carries the last known content");

  onlyB.stop();
  await assert.rejects(onlyB.next(), WatcherStoppedError);
  await r.close();
  await assert.rejects(all.next(), WatcherStoppedError);
  await assert.rejects(r.watch().next(), WatcherStoppedError);
});
