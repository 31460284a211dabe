// The internal Debug handler every node serves (reference §9): callable, never advertised.
import { readFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import type { ServerStats } from "./server.js";

/** OS threads of this process (Linux /proc), 1 where that is not available. */
function threadCount(): number {
  try {
    const m = /^Threads:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) : 1;
  } catch {
    return 1;
  }
}

export function debugHandler(stats: ServerStats) {
  let gcNanos = 0;
  let observer: PerformanceObserver | undefined;
  return {
    async health() {
      return { status: "ok" };
    },
    async stats() {
      if (!observer) {
        // Count GC time from the first Stats call on; nothing is paid until asked.
        observer = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) gcNanos += Math.round(e.duration * 1e6);
        });
        observer.observe({ entryTypes: ["gc"] });
      }
      const now = Date.now();
      return {
        timestamp: Math.floor(now / 1000),
        started: Math.floor(stats.started / 1000),
        uptime: Math.floor((now - stats.started) / 1000),
        memory: process.memoryUsage().rss,
        threads: threadCount(),
        gc: gcNanos,
        requests: stats.requests,
        errors: stats.errors,
      };
    },
  };
}
