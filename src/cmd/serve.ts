// How the long-running commands (micro api, micro web) live: build the
// runtime from the global flags, start, print where they listen, and on
// SIGTERM/SIGINT stop and exit 0. A failure to start is one line and exit 1.
import type { Command } from "commander";
import { newRuntime, closeRuntime, type GlobalOptions, type Runtime } from "./runtime.js";
import { CacheRegistry } from "../registry/cache.js";
import { Client } from "../client/client.js";

export interface Running {
  /** Stops serving; resolves when every connection is closed or cut. */
  close(): Promise<void>;
}

/** A gateway's runtime: its client reads the registry through a watched cache. */
export interface GatewayRuntime extends Runtime {
  cache: CacheRegistry;
}

export function serve(command: Command, start: (rt: GatewayRuntime, flags: Record<string, unknown>) => Promise<Running>): Promise<void> {
  const base = newRuntime(command.optsWithGlobals() as GlobalOptions);
  base.client.close();
  const cache = new CacheRegistry(base.registry);
  const client = new Client({
    registry: cache,
    retries: base.config.clientRetries,
    timeout: base.config.clientRequestTimeout,
    strategy: base.config.selectorStrategy,
    poolSize: base.config.clientPoolSize,
    poolTTL: base.config.clientPoolTTL,
    // A gateway reads requests from many sockets per turn: one write to a node for all of them.
    writeBatch: "loop",
  });
  const rt: GatewayRuntime = { ...base, client, cache };
  return new Promise<void>((resolve, reject) => {
    let running: Running | undefined;
    let stopping = false;
    const stop = async () => {
      if (stopping) process.exit(1); // a second signal means now
      stopping = true;
      try {
        await running?.close();
      } finally {
        await cache.close();
        await closeRuntime(rt);
        process.off("SIGTERM", stop).off("SIGINT", stop);
        resolve();
      }
    };
    process.on("SIGTERM", stop).on("SIGINT", stop);
    start(rt, command.opts()).then(
      (r) => {
        running = r;
        if (stopping) void r.close();
      },
      async (err: unknown) => {
        process.off("SIGTERM", stop).off("SIGINT", stop);
        await cache.close();
        await closeRuntime(rt).catch(() => {});
        reject(err);
      },
    );
  });
}
