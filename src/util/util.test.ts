import { test } from "node:test";
import assert from "node:assert/strict";
import { exponentialBackoff } from "./backoff.js";
import { splitHostPort, joinHostPort, advertiseHost } from "./addr.js";
import { parseDuration } from "./duration.js";

test("backoff matches upstream's curve", () => {
  assert.equal(exponentialBackoff(0), 0);
  assert.equal(exponentialBackoff(1), 100);
  assert.equal(exponentialBackoff(2), 600);
  assert.equal(exponentialBackoff(3), 1900);
  assert.equal(exponentialBackoff(14), 120_000);
});

test("addresses split and join", () => {
  assert.deepEqual(splitHostPort(":0"), { host: "", port: 0 });
  assert.deepEqual(splitHostPort("[::1]:80"), { host: "::1", port: 80 });
  assert.equal(joinHostPort("::1", 80), "[::1]:80");
  assert.throws(() => splitHostPort("nope"), /no port/);
  assert.throws(() => splitHostPort("a:x"), /bad port/);
  assert.equal(advertiseHost("10.1.2.3"), "10.1.2.3");
  assert.ok(advertiseHost("0.0.0.0").length > 0);
});

test("Go durations", () => {
  assert.equal(parseDuration("5s"), 5000);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("3"), 3000);
  assert.throws(() => parseDuration("5 parsecs"), /invalid duration/);
});

test("withTimeout passes results through and gives up with the message", async () => {
  const { withTimeout } = await import("./timeout.js");
  assert.equal(await withTimeout(Promise.resolve(7), 50, "late"), 7);
  await assert.rejects(withTimeout(new Promise(() => {}), 20, "registry x: no answer within 20 ms"), /no answer within 20 ms/);
  await assert.rejects(withTimeout(Promise.reject(new Error("own")), 50, "late"), /own/);
});
