// The table of custom routes, kept from the registry: every service's
// endpoints with api metadata, rebuilt for one service when a watch event
// names it and in full every 10 minutes (upstream's refresh). Lookups are
// synchronous, and first match wins in a fixed order (service, endpoint,
// version), where upstream's order is random.
import type { Registry, Watcher } from "../registry/registry.js";
import { compileHosts, compilePath, decodeEndpoint, invalidEndpoint, type ApiEndpoint, type PathMatcher } from "./endpoints.js";

export interface Route {
  service: string;
  version: string;
  endpoint: ApiEndpoint;
}

export interface Matched {
  route: Route;
  /** Fields captured from the path template. */
  fields: Record<string, string>;
}

interface Entry extends Route {
  paths: PathMatcher[];
  host: (host: string) => boolean;
}

export interface RouterOptions {
  /** ms between full refreshes; default 10 minutes. */
  refreshMs?: number;
  logger?: { warn(message: string): void };
}

export class Router {
  readonly #registry: Registry;
  readonly #refreshMs: number;
  readonly #logger: { warn(message: string): void };
  /** By service name. */
  #byService = new Map<string, Entry[]>();
  #sorted: Entry[] = [];
  /** Bumped whenever the table changes, so callers can cache matches. */
  version = 0;
  #watcher: Watcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pending = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(registry: Registry, options: RouterOptions = {}) {
    this.#registry = registry;
    this.#refreshMs = options.refreshMs ?? 600_000;
    this.#logger = options.logger ?? console;
  }

  /** Loads the table once and keeps it current; resolves when the first load is done (or failed). */
  async start(): Promise<void> {
    this.#watch();
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#refreshMs);
    this.#timer.unref();
  }

  /** Rebuilds the whole table from the registry. */
  async refresh(): Promise<void> {
    try {
      const names = [...new Set((await this.#registry.listServices()).map((s) => s.name))];
      const next = new Map<string, Entry[]>();
      await Promise.all(names.map(async (name) => next.set(name, await this.#load(name))));
      if (this.#closed) return;
      this.#byService = next;
      this.#sort();
    } catch (err) {
      this.#logger.warn(`api router: reading the registry failed (${(err as Error).message}); keeping the routes it had`);
    }
  }

  /** The first custom route that matches, or undefined. */
  match(method: string, path: string, host: string): Matched | undefined {
    for (const entry of this.#sorted) {
      if (!entry.endpoint.method.includes(method)) continue;
      if (!entry.host(host)) continue;
      for (const p of entry.paths) {
        const fields = p(path);
        if (fields) return { route: entry, fields };
      }
    }
    return undefined;
  }

  /** Every custom route, in matching order. */
  routes(): Route[] {
    return this.#sorted.map(({ service, version, endpoint }) => ({ service, version, endpoint }));
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const t of this.#pending.values()) clearTimeout(t);
    this.#watcher?.stop();
  }

  async #load(name: string): Promise<Entry[]> {
    const out: Entry[] = [];
    for (const service of await this.#registry.getService(name)) {
      for (const e of service.endpoints ?? []) {
        const endpoint = decodeEndpoint(e.metadata);
        if (!endpoint) continue;
        const problem = invalidEndpoint(endpoint);
        if (problem) {
          this.#logger.warn(`api router: ${name} endpoint ${endpoint.name || e.name}: ${problem}; not routed`);
          continue;
        }
        out.push({ service: name, version: service.version, endpoint, paths: endpoint.path.map(compilePath), host: compileHosts(endpoint.host) });
      }
    }
    return out;
  }

  #sort(): void {
    const all = [...this.#byService.values()].flat();
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    all.sort((a, b) => cmp(a.service, b.service) || cmp(a.endpoint.name, b.endpoint.name) || cmp(a.version, b.version));
    this.#sorted = all;
    this.version++;
  }

  /** One watch; an event reloads its service shortly after (bursts coalesce). */
  #watch(): void {
    if (this.#closed) return;
    let watcher: Watcher;
    try {
      watcher = this.#registry.watch();
    } catch {
      return; // the periodic refresh still runs
    }
    this.#watcher = watcher;
    void (async () => {
      for (;;) {
        let name: string;
        try {
          name = (await watcher.next()).service.name;
        } catch {
          if (!this.#closed) setTimeout(() => this.#watch(), 1_000).unref();
          return;
        }
        if (this.#pending.has(name)) continue;
        this.#pending.set(name, setTimeout(() => {
          this.#pending.delete(name);
          void this.#reload(name);
        }, 50));
      }
    })();
  }

  async #reload(name: string): Promise<void> {
    try {
      const entries = await this.#load(name);
      if (this.#closed) return;
      if (entries.length) this.#byService.set(name, entries);
      else this.#byService.delete(name);
      this.#sort();
    } catch (err) {
      this.#logger.warn(`api router: reloading ${name} failed (${(err as Error).message})`);
    }
  }
}
