import { test } from "node:test";
import assert from "node:assert/strict";
import { IdList } from "./idlist.js";

test("IdList keeps entries by id, oldest first, duplicates included", () => {
  const l = new IdList<number>();
  assert.equal(l.only(), undefined);
  l.add("a", 1);
  assert.equal(l.only(), 1);
  l.add("b", 2);
  l.add("a", 3);
  assert.equal(l.size, 3);
  assert.equal(l.only(), undefined);
  assert.ok(l.has("b") && !l.has("c"));
  assert.equal(l.get("a"), 1);
  assert.equal(l.remove("a"), 1, "the oldest of two");
  assert.equal(l.get("a"), 3);
  assert.equal(l.remove("zzz"), undefined);
  assert.equal(l.remove("a"), 3, "from the middle... now the end");
  assert.deepEqual(l.clear(), [2]);
  assert.equal(l.size, 0);
});
