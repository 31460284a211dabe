// An in-process registry: the in-memory twin used by tests and single-process
// setups. Each node is stored on its own (keyed by name, version and node id),
// as a one-node Service, so expiry and watch events work per node like etcd.
import type { Action, RegisterOptions, Registry, Service, WatchOptions, Watcher } from "./registry.js";
import { copyService, invalidService, listByNameAndVersion, mergeByVersion, sameService } from "./services.js";
import { QueueWatcher } from "./watcher.js";

interface Entry {
  /** The service with just this node. */
  service: Service;
  /** Epoch ms after which the node is gone; 0 = never. */
  expires: number;
  timer?: NodeJS.Timeout;
}

interface Subscription {
  watcher: QueueWatcher;
  service: string | undefined;
}

function live(entry: Entry, now: number): boolean {
  return entry.expires === 0 || entry.expires > now;
}

export class MemoryRegistry implements Registry {
  readonly name = "memory";
  /** service name → `${version}\n${node id}` → entry */
  #services = new Map<string, Map<string, Entry>>();
  #subscriptions = new Set<Subscription>();
  #closed = false;

  async register(service: Service, options: RegisterOptions = {}): Promise<void> {
    const problem = invalidService(service);
    if (problem) throw new Error(problem);
    const ttl = options.ttl !== undefined && options.ttl > 0 ? options.ttl : 0;
    const now = Date.now();
    let nodes = this.#services.get(service.name);
    if (!nodes) this.#services.set(service.name, (nodes = new Map()));
    for (const node of service.nodes ?? []) {
      const key = `${service.version}\n${node.id}`;
      let previous = nodes.get(key);
      if (previous?.timer) clearTimeout(previous.timer);
      if (previous && !live(previous, now)) {
        // Past its ttl but its timer has not run yet: report the expiry it would have.
        this.#emit("delete", previous.service);
        previous = undefined;
      }
      const entry: Entry = { service: copyService(service, [node]), expires: ttl ? now + ttl : 0 };
      if (ttl) {
        // unref: a registration must never keep the process alive on its own.
        entry.timer = setTimeout(() => this.#expire(service.name, key, entry), ttl).unref();
      }
      nodes.set(key, entry);
      if (!previous) this.#emit("create", entry.service);
      else if (!sameService(previous.service, entry.service)) this.#emit("update", entry.service);
    }
    if (nodes.size === 0) this.#services.delete(service.name);
  }

  async deregister(service: Service): Promise<void> {
    const nodes = this.#services.get(service?.name);
    if (!nodes) return;
    const now = Date.now();
    for (const node of service.nodes ?? []) {
      const key = `${service.version}\n${node.id}`;
      const entry = nodes.get(key);
      if (!entry) continue;
      if (entry.timer) clearTimeout(entry.timer);
      nodes.delete(key);
      if (live(entry, now)) this.#emit("delete", entry.service);
    }
    if (nodes.size === 0) this.#services.delete(service.name);
  }

  async getService(name: string): Promise<Service[]> {
    return mergeByVersion(this.#live(this.#services.get(name)));
  }

  async listServices(): Promise<Service[]> {
    const all: Service[] = [];
    for (const nodes of this.#services.values()) all.push(...this.#live(nodes));
    return listByNameAndVersion(all);
  }

  watch(options: WatchOptions = {}): Watcher {
    const subscription: Subscription = {
      watcher: new QueueWatcher(() => this.#subscriptions.delete(subscription)),
      service: options.service,
    };
    if (this.#closed) subscription.watcher.stop();
    else this.#subscriptions.add(subscription);
    return subscription.watcher;
  }

  /** Stops every watcher and expiry timer. Data stays readable; nodes past their ttl read as gone. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { watcher } of [...this.#subscriptions]) watcher.stop();
    for (const nodes of this.#services.values()) {
      for (const entry of nodes.values()) if (entry.timer) clearTimeout(entry.timer);
    }
  }

  *#live(nodes: Map<string, Entry> | undefined): Iterable<Service> {
    if (!nodes) return;
    const now = Date.now();
    for (const entry of nodes.values()) if (live(entry, now)) yield entry.service;
  }

  #expire(name: string, key: string, entry: Entry): void {
    const nodes = this.#services.get(name);
    if (nodes?.get(key) !== entry) return;
    nodes.delete(key);
    if (nodes.size === 0) this.#services.delete(name);
    this.#emit("delete", entry.service);
  }

  #emit(action: Action, service: Service): void {
    for (const subscription of this.#subscriptions) {
      if (subscription.service !== undefined && subscription.service !== service.name) continue;
      // A copy per watcher: one consumer mutating its event cannot touch another's or ours.
      subscription.watcher.push({ action, service: copyService(service) });
    }
  }
}
