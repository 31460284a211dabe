// The load driver: N loops, each awaiting one call at a time, for a warm-up
// (not counted) and then a measured window. Latencies go into a growable
// Float64Array so recording costs next to nothing.
import { performance } from "node:perf_hooks";

export interface LoadOptions {
  call: () => Promise<unknown>;
  check: (reply: unknown) => boolean;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Called when the measured window opens (after the warm-up). */
  onWindow?: () => void;
}

export interface LoadResult {
  /** Good calls completed inside the measured window. */
  calls: number;
  /** Failed calls (error or bad reply), warm-up included. */
  failed: number;
  callsPerSec: number;
  /** Microseconds, over the measured calls. */
  p50: number;
  p99: number;
  mean: number;
  firstError?: string;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  let lat = new Float64Array(1 << 16);
  let n = 0;
  let failed = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const measureFrom = start + o.warmupMs;
  const end = measureFrom + o.durationMs;
  const window = o.onWindow ? setTimeout(o.onWindow, o.warmupMs) : undefined;

  const fail = (why: string) => {
    failed++;
    firstError ??= why;
  };

  async function loop(): Promise<void> {
    for (;;) {
      const t0 = performance.now();
      let reply: unknown;
      try {
        reply = await o.call();
      } catch (err) {
        fail((err as Error)?.message ?? String(err));
        if (performance.now() >= end) return;
        continue;
      }
      const t1 = performance.now();
      if (!o.check(reply)) fail(`bad reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
      else if (t1 >= measureFrom && t1 < end) {
        if (n === lat.length) {
          const bigger = new Float64Array(lat.length * 2);
          bigger.set(lat);
          lat = bigger;
        }
        lat[n++] = t1 - t0;
      }
      if (t1 >= end) return;
    }
  }

  await Promise.all(Array.from({ length: o.concurrency }, loop));
  clearTimeout(window);
  const sorted = lat.subarray(0, n).sort();
  const q = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.floor(p * n))]! * 1000);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    calls: n,
    failed,
    callsPerSec: n / (o.durationMs / 1000),
    p50: q(0.5),
    p99: q(0.99),
    mean: n === 0 ? NaN : (sum / n) * 1000,
    ...(firstError === undefined ? {} : { firstError }),
  };
}
