import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalKey, isHeaderKey, get, withMetadata, fromContext, outgoing } from "./metadata.js";

test("canonical keys follow Go's textproto rules", () => {
  assert.equal(canonicalKey("micro-from-service"), "Micro-From-Service");
  assert.equal(canonicalKey("X-MICRO-ERROR"), "X-Micro-Error");
  assert.equal(canonicalKey("content-TYPE"), "Content-Type");
  assert.equal(canonicalKey("Micro-Id"), "Micro-Id");
  assert.equal(canonicalKey("a-b-c"), "A-B-C");
  assert.equal(canonicalKey("x_y-z"), "X_y-Z");
  assert.equal(canonicalKey("-foo"), "-Foo");
  assert.equal(canonicalKey("bad key"), "bad key");
  assert.equal(canonicalKey("föo"), "föo");
  assert.equal(canonicalKey(""), "");
  assert.ok(isHeaderKey("X-Trace_1"));
  assert.ok(!isHeaderKey("bad key") && !isHeaderKey("") && !isHeaderKey("a:b"));
});

test("get tries the exact key then the canonical one", () => {
  assert.equal(get({ "X-Foo": "1" }, "x-foo"), "1");
  assert.equal(get({ "x-foo": "2" }, "x-foo"), "2");
  assert.equal(get(undefined, "x"), undefined);
});

test("metadata follows async work and hop headers stay behind", async () => {
  const seen = await withMetadata({ "X-Trace": "t1", "Micro-Id": "7" }, async () => {
    await new Promise((r) => setTimeout(r, 1));
    return fromContext();
  });
  assert.deepEqual(seen, { "X-Trace": "t1", "Micro-Id": "7" });
  assert.deepEqual(outgoing(seen!), { "X-Trace": "t1" });
  assert.equal(fromContext(), undefined);
});
