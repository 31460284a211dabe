// How the long-running commands (micro api, micro web) live: build the
// runtime from the global flags, start, print where they listen, and on
// SIGTERM/SIGINT stop and exit 0. A failure to start is one line and exit 1.
import type { Command } from "commander";
import { newRuntime, closeRuntime, type GlobalOptions, type Runtime } from "./runtime.js";
import { CacheRegistry } from "../registry/cache.js";
import { Client } from "../client/client.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { listen, type Listener, type ListenOptions } from "../http/listen.js";
import type { Logger } from "../util/log.js";

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

/** What micro api and micro web put on a listener: a request handler, an upgrade handler, and what to stop first. */
export interface Front {
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  close(): void;
}

/**
 * Listens with the TLS/ACME options, bounds how long a client may take over a
 * request, says what it serves (`what`) and where it listens, and gives the Running that stops the front,
 * then the listener, then flushes the access log.
 */
export async function listenFront(
  command: string, front: Front, options: ListenOptions, requestTimeoutMs: number, log: Logger, accessLog: { flush(): void }, what: string,
): Promise<Running> {
  let listener: Listener;
  try {
    listener = await listen(front.handle, options, front.upgrade);
  } catch (err) {
    front.close();
    throw new Error(`micro ${command}: ${(err as Error).message}`);
  }
  listener.server.requestTimeout = requestTimeoutMs;
  listener.server.headersTimeout = 20_000;
  log.info(what);
  log.info(`HTTP API Listening on ${listener.address}${listener.url.startsWith("https") ? " (TLS)" : ""}`);
  return {
    close: async () => {
      front.close(); // live feeds and WebSockets first: they never end by themselves
      await listener.close();
      accessLog.flush();
    },
  };
}
