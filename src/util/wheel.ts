// A hashed timer wheel: many short-lived deadlines (one per call) on one Node
// timer. Entries are linked into their slot intrusively, so scheduling and
// cancelling allocate nothing and a cancelled entry is gone at once (no
// garbage held until its slot comes round).

/** Something with a deadline. The wheel owns the link fields while it is scheduled. */
export abstract class WheelEntry {
  /** ms since the epoch (Date.now()) at which onExpire runs. */
  deadline = 0;
  /** @internal */ wheelPrev: WheelEntry | null = null;
  /** @internal */ wheelNext: WheelEntry | null = null;
  /** @internal slot index; -1 when not scheduled. */ wheelSlot = -1;

  /** Called once, from the wheel's timer, when the deadline has passed and the entry was not cancelled. */
  abstract onExpire(): void;
}

export interface TimerWheelOptions {
  /** Slot width, ms: how late an entry may fire at most. Default 10. */
  tick?: number;
  /** Slots; a deadline further than tick*slots away goes round more than once. Default 512. */
  slots?: number;
}

/** wheelSlot of an entry unlinked to run in the current tick. */
const DUE = -2;

export class TimerWheel {
  readonly tick: number;
  private readonly heads: (WheelEntry | null)[];
  private readonly mask: number;
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The slot tick (Math.floor(time / tick)) processed last. */
  private cursor = 0;
  private readonly due: WheelEntry[] = [];

  constructor(options: TimerWheelOptions = {}) {
    this.tick = Math.max(1, options.tick ?? 10);
    let slots = 1;
    while (slots < (options.slots ?? 512)) slots <<= 1;
    this.heads = new Array<WheelEntry | null>(slots).fill(null);
    this.mask = slots - 1;
  }

  /** Entries scheduled and not yet expired or cancelled. */
  get pending(): number {
    return this.size;
  }

  /** Schedules e to expire at e.deadline (rescheduling it if it already is). */
  add(e: WheelEntry, deadline: number): void {
    if (e.wheelSlot >= 0) this.remove(e);
    e.deadline = deadline;
    this.arm();
    // Never into a slot already passed: at worst the next tick.
    const t = Math.max(Math.ceil(deadline / this.tick), this.cursor + 1);
    this.link(e, t & this.mask);
    this.size++;
  }

  /** Cancels e; harmless when it is not scheduled. */
  remove(e: WheelEntry): void {
    const slot = e.wheelSlot;
    if (slot < 0) {
      e.wheelSlot = -1; // also cancels an entry taken out to run in this tick
      return;
    }
    const prev = e.wheelPrev;
    const next = e.wheelNext;
    if (prev === null) this.heads[slot] = next;
    else prev.wheelNext = next;
    if (next !== null) next.wheelPrev = prev;
    e.wheelPrev = e.wheelNext = null;
    e.wheelSlot = -1;
    this.size--; // the timer stops at its next tick if nothing is left: one call at a time must not start and stop it each call
  }

  /** Cancels everything without running it. */
  clear(): void {
    for (let s = 0; s < this.heads.length; s++) {
      let e = this.heads[s] ?? null;
      while (e !== null) {
        const next: WheelEntry | null = e.wheelNext;
        e.wheelPrev = e.wheelNext = null;
        e.wheelSlot = -1;
        e = next;
      }
      this.heads[s] = null;
    }
    this.size = 0;
    this.disarm();
  }

  private link(e: WheelEntry, slot: number): void {
    const head = this.heads[slot] ?? null;
    e.wheelSlot = slot;
    e.wheelPrev = null;
    e.wheelNext = head;
    if (head !== null) head.wheelPrev = e;
    this.heads[slot] = e;
  }

  // One repeating timer while anything is scheduled; unref'd: a pending deadline alone keeps no process alive.
  private arm(): void {
    if (this.timer !== undefined) return;
    this.cursor = Math.floor(Date.now() / this.tick);
    this.timer = setInterval(onTick, this.tick, this);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** @internal Runs every entry whose deadline has passed. */
  advance(now: number): void {
    if (this.size === 0) {
      this.disarm();
      return;
    }
    const target = Math.floor(now / this.tick);
    // After a long stall, one sweep of every slot is enough.
    const from = target - this.cursor > this.mask ? target - this.mask : this.cursor + 1;
    const due = this.due;
    for (let t = from; t <= target && this.size > 0; t++) {
      const slot = t & this.mask;
      let e = this.heads[slot] ?? null;
      while (e !== null) {
        const next: WheelEntry | null = e.wheelNext;
        if (e.deadline <= now) {
          this.remove(e);
          e.wheelSlot = DUE;
          due.push(e);
        }
        e = next;
      }
    }
    this.cursor = target;
    // Unlinked before any runs: a callback may cancel or reschedule others.
    for (let i = 0; i < due.length; i++) {
      const e = due[i]!;
      due[i] = undefined as unknown as WheelEntry;
      if (e.wheelSlot !== DUE) continue; // cancelled or rescheduled meanwhile
      e.wheelSlot = -1;
      try {
        e.onExpire();
      } catch {
        // One entry's failure must not stop the others' deadlines.
      }
    }
    due.length = 0;
  }
}

function onTick(w: TimerWheel): void {
  w.advance(Date.now());
}
