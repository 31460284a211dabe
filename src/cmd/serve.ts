// How the long-running commands (micro api, micro web) live: build the
// runtime from the global flags, start, register the command's own node, print
// where they listen, and on SIGTERM/SIGINT deregister, stop and exit 0. A
// failure to start is one line and exit 1.
import type { Command } from "commander";
import { newRuntime, closeRuntime, type GlobalOptions, type Runtime } from "./runtime.js";
import { CacheRegistry } from "../registry/cache.js";
import { Client } from "../client/client.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { listen, type Listener, type ListenOptions } from "../http/listen.js";
import type { ExchangeFront } from "../http/conn.js";
import { newLogger, type Logger } from "../util/log.js";
import { Server } from "../server/server.js";
import { Registration } from "../service/registration.js";

export interface Running {
  /** Stops serving; resolves when every connection is closed or cut. */
  close(): Promise<void>;
}

/** A gateway's runtime: its client reads the registry through a watched cache. */
export interface GatewayRuntime extends Runtime {
  cache: CacheRegistry;
}

/**
 * Runs `start`, then registers the command's own mucp node under `selfName`
 * (--server_name overrides), as upstream's micro api and micro web run a
 * micro.Service named go.micro.api / go.micro.web: they show in `micro list
 * services` and answer Debug.Health like any service.
 */
export function serve(command: Command, selfName: string, start: (rt: GatewayRuntime, flags: Record<string, unknown>) => Promise<Running>): Promise<void> {
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
    let stopSelf: (() => Promise<void>) | undefined;
    let stopping = false;
    const stop = async () => {
      if (stopping) process.exit(1); // a second signal means now
      stopping = true;
      try {
        await stopSelf?.(); // out of the registry first, as a service leaves before it drains
        await running?.close();
      } finally {
        await cache.close();
        await closeRuntime(rt);
        process.off("SIGTERM", stop).off("SIGINT", stop);
        resolve();
      }
    };
    process.on("SIGTERM", stop).on("SIGINT", stop);
    const startAll = async () => {
      running = await start(rt, command.opts());
      if (stopping) return void running.close();
      const self = await registerSelf(rt, selfName).catch(async (err: Error) => {
        await running?.close();
        throw err;
      });
      if (stopping) return void self();
      stopSelf = self;
    };
    startAll().then(
      () => {},
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
  /** Buffered exchanges served on the lean front before node:http (micro api's calls). */
  lean?: ExchangeFront;
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
    listener = await listen(front.handle, options, front.upgrade, front.lean);
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

/** Starts an mucp server with no endpoints of its own (Debug only) and keeps it registered; returns what deregisters and stops it. */
async function registerSelf(rt: Runtime, defaultName: string): Promise<() => Promise<void>> {
  const c = rt.config;
  const log = newLogger();
  const server = new Server({
    name: c.serverName || defaultName,
    version: c.serverVersion,
    id: c.serverId || undefined,
    address: c.serverAddress,
    advertise: c.serverAdvertise,
    metadata: c.serverMetadata,
    logger: log,
  });
  await server.start();
  const registration = new Registration(rt.registry, () => server.registryService(rt.registry.name), { ttl: c.registerTTL, interval: c.registerInterval, log });
  try {
    await registration.start();
  } catch (err) {
    await server.stop(0);
    throw new Error(`registering ${server.name}: ${(err as Error).message}`);
  }
  log.info(`Registry [${rt.registry.name}] Registering node: ${server.id}`);
  return async () => {
    log.info(`Registry [${rt.registry.name}] Deregistering node: ${server.id}`);
    await registration.stop();
    await server.stop(5_000);
  };
}
