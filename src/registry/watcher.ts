// A queue-backed Watcher shared by every registry implementation: producers
// push() events, consumers call next() or iterate. Events are low-volume, so
// the queue is unbounded rather than dropping anything.
import { type Result, type Watcher, WatcherStoppedError } from "./registry.js";

interface Waiter {
  resolve(result: Result): void;
  reject(error: unknown): void;
}

export class QueueWatcher implements Watcher {
  #queue: Result[] = [];
  #waiters: Waiter[] = [];
  #stopped = false;
  #failure: unknown = undefined;
  #onStop: (() => void) | undefined;

  /** onStop runs once, when the watcher is stopped or fails, so the producer can let go of it. */
  constructor(onStop?: () => void) {
    this.#onStop = onStop;
  }

  /** True once stop() or fail() was called: pushing is pointless. */
  get stopped(): boolean {
    return this.#stopped || this.#failure !== undefined;
  }

  /** Queue an event; ignored once stopped. */
  push(result: Result): void {
    if (this.stopped) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(result);
    else this.#queue.push(result);
  }

  next(): Promise<Result> {
    if (this.#stopped) return Promise.reject(new WatcherStoppedError());
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<Result>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** End the stream: pending and later next() calls reject with WatcherStoppedError. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#queue = [];
    this.#rejectWaiters(new WatcherStoppedError());
    this.#detach();
  }

  /**
   * End the stream because the source broke: events already queued are still
   * delivered (they are true), then next() rejects with `error`. Consumers such
   * as the cache tell this apart from stop() and re-watch.
   */
  fail(error: unknown): void {
    if (this.stopped) return;
    this.#failure = error ?? new Error("watch failed");
    this.#rejectWaiters(this.#failure);
    this.#detach();
  }

  [Symbol.asyncIterator](): AsyncIterator<Result, undefined> {
    return {
      next: () =>
        this.next().then(
          (value): IteratorResult<Result, undefined> => ({ value, done: false }),
          (error: unknown): IteratorResult<Result, undefined> => {
            if (error instanceof WatcherStoppedError) return { value: undefined, done: true };
            throw error;
          },
        ),
      // `break` out of a for-await loop stops the watcher, like closing a stream.
      return: async (): Promise<IteratorResult<Result, undefined>> => {
        this.stop();
        return { value: undefined, done: true };
      },
    };
  }

  #rejectWaiters(error: unknown): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  #detach(): void {
    const onStop = this.#onStop;
    this.#onStop = undefined;
    onStop?.();
  }
}
