import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalKey, get, withMetadata, fromContext, outgoing } from "./metadata.js";

test("canonical keys follow Go's textproto rules", () => {
  assert.equal(canonicalKey("micro-from-service"), "Micro-From-Service");
  assert.equal(canonicalKey("X-MICRO-ID"), "X-Micro-Id");
  assert.equal(canonicalKey("content-type"), "Content-Type");
  assert.equal(canonicalKey("Timeout"), "Timeout");
  assert.equal(canonicalKey("bad key"), "bad key");
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
