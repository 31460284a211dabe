import { test } from "node:test";
import assert from "node:assert/strict";
import { TimerWheel, WheelEntry } from "./wheel.js";

class Entry extends WheelEntry {
  fired = 0;
  firedAt = 0;
  constructor(readonly onFire: (e: Entry) => void = () => {}) {
    super();
  }
  onExpire(): void {
    this.fired++;
    this.firedAt = Date.now();
    this.onFire(this);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("entries fire once, not early and at most about a tick late", async () => {
  const w = new TimerWheel({ tick: 5 });
  const start = Date.now();
  const entries = [20, 40, 60].map((ms) => {
    const e = new Entry();
    w.add(e, start + ms);
    return e;
  });
  assert.equal(w.pending, 3);
  await sleep(150);
  for (const [i, e] of entries.entries()) {
    assert.equal(e.fired, 1);
    assert.ok(e.firedAt >= start + (i + 1) * 20, "not before its deadline");
    assert.ok(e.firedAt <= start + (i + 1) * 20 + 60, `fired ${e.firedAt - start} ms after start`);
  }
  assert.equal(w.pending, 0);
});

test("a removed entry never fires and is unlinked at once", async () => {
  const w = new TimerWheel({ tick: 5 });
  const a = new Entry();
  const b = new Entry();
  const c = new Entry();
  const at = Date.now() + 20;
  w.add(a, at);
  w.add(b, at);
  w.add(c, at);
  w.remove(b);
  w.remove(b); // twice is harmless
  assert.equal(w.pending, 2);
  await sleep(80);
  assert.deepEqual([a.fired, b.fired, c.fired], [1, 0, 1]);
});

test("deadlines beyond one turn of the wheel wait for their turn", async () => {
  const w = new TimerWheel({ tick: 2, slots: 4 }); // one turn = 8 ms
  const e = new Entry();
  const start = Date.now();
  w.add(e, start + 40);
  await sleep(25);
  assert.equal(e.fired, 0);
  await sleep(60);
  assert.equal(e.fired, 1);
  assert.ok(e.firedAt >= start + 40);
});

test("a callback may cancel or reschedule other due entries", async () => {
  const w = new TimerWheel({ tick: 5 });
  const at = Date.now() + 10;
  const later = new Entry();
  const victim = new Entry();
  const killer = new Entry(() => {
    w.remove(victim);
    w.add(later, Date.now() + 30);
  });
  // All in one slot; a slot runs its newest entry first, so killer runs before the other two.
  w.add(victim, at);
  w.add(later, at);
  w.add(killer, at);
  await sleep(120);
  assert.equal(killer.fired, 1);
  assert.equal(victim.fired, 0, "cancelled while due: never runs");
  assert.equal(later.fired, 1, "rescheduled entries fire once, at their new deadline");
  assert.equal(w.pending, 0);
});

test("clear cancels everything; a past deadline fires on the next tick", async () => {
  const w = new TimerWheel({ tick: 5 });
  const a = new Entry();
  w.add(a, Date.now() + 10);
  w.clear();
  const b = new Entry();
  w.add(b, Date.now() - 1000);
  await sleep(50);
  assert.equal(a.fired, 0);
  assert.equal(b.fired, 1);
});
