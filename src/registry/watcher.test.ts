import { test } from "node:test";
import assert from "node:assert/strict";
import { type Result, WatcherStoppedError } from "./registry.js";
import { QueueWatcher } from "./watcher.js";

function event(name: string): Result {
  return { action: "create", service: { name, version: "1", metadata: null, endpoints: null, nodes: [] } };
}

test("delivers queued events in order, and to waiting next() calls", async () => {
  const w = new QueueWatcher();
  w.push(event("a"));
  w.push(event("b"));
  assert.equal((await w.next()).service.name, "a");
  assert.equal((await w.next()).service.name, "b");
  const waiting = w.next();
  w.push(event("c"));
  assert.equal((await waiting).service.name, "c");
});

test("stop rejects pending and later next() with WatcherStoppedError, drops the queue, runs onStop once", async () => {
  let stops = 0;
  const w = new QueueWatcher(() => stops++);
  const pending = w.next();
  w.stop();
  await assert.rejects(pending, WatcherStoppedError);
  w.push(event("late"));
  await assert.rejects(w.next(), WatcherStoppedError);
  w.stop();
  assert.equal(stops, 1);
  assert.equal(w.stopped, true);
});

test("for await ends cleanly on stop, and break stops the watcher", async () => {
  const w = new QueueWatcher();
  w.push(event("a"));
  setTimeout(() => w.stop(), 10);
  const seen: string[] = [];
  for await (const r of w) seen.push(r.service.name);
  assert.deepEqual(seen, ["a"]);

  const w2 = new QueueWatcher();
  w2.push(event("x"));
  w2.push(event("y"));
  for await (const r of w2) {
    assert.equal(r.service.name, "x");
    break;
  }
  assert.equal(w2.stopped, true);
});

test("fail delivers what is queued, then rejects with the failure (not WatcherStoppedError)", async () => {
  const w = new QueueWatcher();
  w.push(event("a"));
  w.fail(new Error("broken"));
  assert.equal((await w.next()).service.name, "a");
  await assert.rejects(w.next(), /broken/);
  const it = new QueueWatcher();
  setTimeout(() => it.fail(new Error("down")), 5);
  await assert.rejects(async () => {
    for await (const _ of it) void _;
  }, /down/);
});
