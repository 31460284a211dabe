// A caching Registry wrapper, like upstream registry/cache (reference §1.6):
// lookups are answered from memory, kept current by one watch on the wrapped
// registry, and the last answer is served when the registry is unreachable.
import type { RegisterOptions, Registry, Result, Service, WatchOptions, Watcher } from "./registry.js";
import { copyNode, copyService, copyServices } from "./services.js";

export interface CacheOptions {
  /** How long (ms) an answer is trusted while the watch is down. Default 60_000. */
  ttl?: number;
  /** Where outages are reported. Default console. */
  logger?: { warn(message: string): void };
}

interface Entry {
  services: Service[];
  fetchedAt: number;
  /** The watch epoch the lookup started in; -1 when no watch was up. */
  epoch: number;
}

interface Lookup {
  promise: Promise<Service[]>;
  /** Watch events that arrived while the lookup was in flight. */
  events: Result[];
}

const RETRY_MIN = 100;
const RETRY_MAX = 30_000;

export class CacheRegistry implements Registry {
  /** The wrapped registry's name: nodes registered through the cache are still its nodes. */
  readonly name: string;
  readonly #registry: Registry;
  readonly #ttl: number;
  readonly #logger: { warn(message: string): void };
  #entries = new Map<string, Entry>();
  #lookups = new Map<string, Lookup>();
  #watchStarted = false;
  #watcher: Watcher | undefined;
  #watchStartedAt = 0;
  /**
   * Bumped whenever the watch starts or stops. An entry looked up while the
   * current watch was up has seen every event since, so it needs no ttl.
   */
  #epoch = 0;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Set once the outage has been reported, cleared by the next answer. */
  #outageReported = false;
  #closed = false;

  constructor(registry: Registry, options: CacheOptions = {}) {
    this.#registry = registry;
    this.name = registry.name;
    this.#ttl = options.ttl ?? 60_000;
    this.#logger = options.logger ?? console;
  }

  async getService(name: string): Promise<Service[]> {
    if (this.#closed) return this.#registry.getService(name);
    this.#startWatch();
    const cached = this.#entries.get(name);
    if (cached && this.#fresh(cached)) return copyServices(cached.services);
    try {
      return copyServices(await this.#lookup(name));
    } catch (error) {
      const stale = this.#entries.get(name);
      if (!stale) throw error;
      if (!this.#outageReported) {
        this.#outageReported = true;
        const age = ((Date.now() - stale.fetchedAt) / 1000).toFixed(1);
        this.#logger.warn(
          `registry cache: looking up ${name} in the ${this.name} registry failed (${message(error)}); ` +
            `serving nodes cached ${age}s ago until the registry answers again`,
        );
      }
      return copyServices(stale.services);
    }
  }

  /**
   * The cached answer without waiting or copying, or undefined when a lookup
   * is needed (then call getService). The arrays are shared: never change them.
   */
  cached(name: string): readonly Service[] | undefined {
    if (this.#closed) return undefined;
    this.#startWatch();
    const entry = this.#entries.get(name);
    return entry !== undefined && this.#fresh(entry) ? entry.services : undefined;
  }

  /** Forget one service, so the next getService asks the registry. */
  invalidate(name: string): void {
    this.#entries.delete(name);
  }

  register(service: Service, options?: RegisterOptions): Promise<void> {
    return this.#registry.register(service, options);
  }

  deregister(service: Service): Promise<void> {
    return this.#registry.deregister(service);
  }

  listServices(): Promise<Service[]> {
    return this.#registry.listServices();
  }

  watch(options?: WatchOptions): Watcher {
    return this.#registry.watch(options);
  }

  /** Stops the cache's watch and timers and drops its entries; the wrapped registry stays open (others may share it). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const watcher = this.#watcher;
    this.#watcher = undefined;
    watcher?.stop();
    this.#entries.clear();
  }

  #fresh(entry: Entry): boolean {
    if (this.#watcher && entry.epoch === this.#epoch) return true;
    return Date.now() - entry.fetchedAt < this.#ttl;
  }

  /** One lookup per name at a time; concurrent misses share it. */
  #lookup(name: string): Promise<Service[]> {
    const pending = this.#lookups.get(name);
    if (pending) return pending.promise;
    const lookup = { events: [] } as unknown as Lookup;
    this.#lookups.set(name, lookup); // before the call, which may settle at once
    lookup.promise = this.#fetch(name, lookup, this.#watcher ? this.#epoch : -1);
    return lookup.promise;
  }

  async #fetch(name: string, lookup: Lookup, epoch: number): Promise<Service[]> {
    try {
      let services = copyServices(await this.#registry.getService(name));
      // The answer may predate events seen meanwhile; replaying them is idempotent.
      for (const event of lookup.events) services = applyEvent(services, event);
      this.#outageReported = false;
      if (this.#closed) return services;
      // Empty answers are not cached (as upstream): a new service shows up on the next lookup.
      if (services.length > 0) this.#entries.set(name, { services, fetchedAt: Date.now(), epoch });
      else this.#entries.delete(name);
      return services;
    } finally {
      if (this.#lookups.get(name) === lookup) this.#lookups.delete(name);
    }
  }

  /** One watch for all services, started by the first getService. */
  #startWatch(): void {
    if (this.#watchStarted) return;
    this.#watchStarted = true;
    this.#watch();
  }

  #watch(): void {
    if (this.#closed) return;
    let watcher: Watcher;
    try {
      watcher = this.#registry.watch();
    } catch (error) {
      this.#watchFailed(error);
      return;
    }
    this.#watcher = watcher;
    this.#watchStartedAt = Date.now();
    this.#epoch++;
    void this.#consume(watcher);
  }

  async #consume(watcher: Watcher): Promise<void> {
    for (;;) {
      let event: Result;
      try {
        event = await watcher.next();
      } catch (error) {
        if (this.#watcher === watcher) this.#watchFailed(error);
        return;
      }
      if (this.#watcher !== watcher) return;
      this.#failures = 0;
      this.#onEvent(event);
    }
  }

  #onEvent(event: Result): void {
    const name = event.service?.name;
    if (typeof name !== "string") return;
    this.#lookups.get(name)?.events.push(event);
    const entry = this.#entries.get(name);
    if (!entry) return; // not cached: nothing to keep current
    entry.services = applyEvent(entry.services, event);
    if (entry.services.length === 0) this.#entries.delete(name);
  }

  #watchFailed(error: unknown): void {
    this.#watcher?.stop();
    this.#watcher = undefined;
    this.#epoch++; // from now on entries expire by ttl
    // A watch that held for a while earns a fresh backoff.
    if (Date.now() - this.#watchStartedAt > RETRY_MAX) this.#failures = 0;
    this.#failures++;
    if (this.#failures === 1) {
      this.#logger.warn(
        `registry cache: watching the ${this.name} registry failed (${message(error)}); ` +
          `retrying, and trusting cached nodes for ${this.#ttl} ms meanwhile`,
      );
    }
    const backoff = Math.min(RETRY_MAX, RETRY_MIN * 2 ** (this.#failures - 1));
    const delay = backoff / 2 + Math.random() * (backoff / 2); // jitter: caches in many processes do not retry in step
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#watch();
    }, delay).unref();
  }
}

/**
 * Merge a watch event into one service's versions, by node id (upstream's
 * rule): create/update take the event's service fields and add or replace its
 * nodes; delete removes its nodes, and the version once it has none left.
 */
function applyEvent(services: Service[], { action, service }: Result): Service[] {
  // Copy on write: arrays handed out by cached() are never changed under their holders.
  const index = services.findIndex((s) => s.version === service.version);
  const eventNodes = service.nodes ?? [];
  const out = [...services];
  if (action === "delete") {
    if (index < 0) return services;
    const gone = new Set(eventNodes.map((n) => n.id));
    const kept = (services[index]!.nodes ?? []).filter((n) => !gone.has(n.id));
    if (kept.length > 0) out[index] = { ...services[index]!, nodes: kept };
    else out.splice(index, 1);
    return out;
  }
  if (index < 0) {
    out.push(copyService(service));
    return out;
  }
  const nodes = [...(services[index]!.nodes ?? [])];
  for (const node of eventNodes) {
    const at = nodes.findIndex((n) => n.id === node.id);
    if (at >= 0) nodes[at] = copyNode(node);
    else nodes.push(copyNode(node));
  }
  out[index] = copyService(service, nodes);
  return out;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
