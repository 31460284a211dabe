// The dashboard's live feed: one registry watch, fanned out to every open page
// as Server-Sent Events. An event names what changed; pages then re-read the
// view they show, so a missed or merged event costs nothing but a re-read.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry, Watcher } from "../registry/registry.js";
import type { Logger } from "../util/log.js";

export interface RegistryEventsOptions {
  /** ms between comments that keep idle connections (and proxies in between) open; default 15 s. */
  heartbeatMs?: number;
  /** Open feeds at most; more get 503. Default 1000. */
  maxClients?: number;
  logger?: Logger;
}

export class RegistryEvents {
  readonly #registry: Registry;
  readonly #clients = new Set<ServerResponse>();
  readonly #heartbeatMs: number;
  readonly #maxClients: number;
  readonly #logger: Logger | undefined;
  #watcher: Watcher | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;

  constructor(registry: Registry, options: RegistryEventsOptions = {}) {
    this.#registry = registry;
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#maxClients = options.maxClients ?? 1000;
    this.#logger = options.logger;
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Answers req with an event stream that lasts until the client leaves or close(). */
  subscribe(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed || this.#clients.size >= this.#maxClients) {
      res.writeHead(503, { "Content-Type": "text/plain", "Retry-After": "5" });
      res.end("too many open dashboards\n");
      return;
    }
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    });
    // retry: how soon the browser reconnects after a cut
    res.write("retry: 2000\n\n");
    this.#clients.add(res);
    res.once("close", () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0) this.#idle();
    });
    this.#start();
  }

  /** Ends every feed and the watch. */
  close(): void {
    this.#closed = true;
    this.#stopWatch();
    for (const res of this.#clients) {
      // The stream never ends by itself: close its connection too, so a server closing down need not wait for it.
      res.once("finish", () => res.socket?.destroy());
      res.end();
    }
    this.#clients.clear();
  }

  #send(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.#clients) {
      // A client that does not read gets cut rather than buffered without end.
      if (res.writableLength > 1 << 20) res.destroy();
      else res.write(frame);
    }
  }

  #start(): void {
    if (this.#closed) return;
    if (!this.#heartbeat) {
      this.#heartbeat = setInterval(() => {
        for (const res of this.#clients) res.write(": ping\n\n");
      }, this.#heartbeatMs);
      this.#heartbeat.unref();
    }
    if (this.#watcher || this.#retry) return;
    let watcher: Watcher;
    try {
      watcher = this.#registry.watch();
    } catch (err) {
      return this.#failed(err);
    }
    this.#watcher = watcher;
    void this.#consume(watcher);
  }

  async #consume(watcher: Watcher): Promise<void> {
    for (;;) {
      let result;
      try {
        result = await watcher.next();
      } catch (err) {
        if (this.#watcher === watcher) this.#failed(err);
        return;
      }
      if (this.#watcher !== watcher) return;
      this.#failures = 0;
      const s = result.service;
      this.#send("registry", {
        action: result.action,
        service: s?.name ?? "",
        version: s?.version ?? "",
        nodes: (s?.nodes ?? []).map((n) => ({ id: n.id, address: n.address })),
      });
    }
  }

  #failed(err: unknown): void {
    this.#watcher?.stop();
    this.#watcher = undefined;
    if (this.#closed || this.#clients.size === 0) return;
    this.#failures++;
    if (this.#failures === 1) this.#logger?.warn(`micro web: watching the registry failed (${(err as Error)?.message ?? err}); retrying`);
    const wait = Math.min(30_000, 250 * 2 ** Math.min(this.#failures, 7));
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#start();
      // Whatever happened meanwhile is unknown: pages re-read everything.
      if (this.#watcher) this.#send("resync", {});
    }, wait);
    this.#retry.unref();
  }

  /** Nobody watches: no need to keep a registry watch open. */
  #idle(): void {
    this.#stopWatch();
  }

  #stopWatch(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    const w = this.#watcher;
    this.#watcher = undefined;
    w?.stop();
  }
}
