// Picks a node of a service: strategy over the nodes of all versions, after
// filters, skipping nodes that recently refused connections (upstream waits
// for the TTL; we stop sending to a dead node as soon as one call sees it).
import type { Node, Registry, Service } from "../registry/registry.js";
import type { CacheRegistry } from "../registry/cache.js";
import { internalServerError } from "../errors/errors.js";

export type Strategy = "random" | "roundrobin";

/** Narrows the versions/nodes a call may use. */
export type Filter = (services: Service[]) => Service[];

export interface SelectOptions {
  filters?: readonly Filter[];
  strategy?: Strategy;
}

export interface SelectorOptions {
  strategy?: Strategy;
  /** How long a node that failed to connect is skipped, ms (default 30 s). */
  downTime?: number;
}

export class Selector {
  private readonly registry: Registry;
  private readonly strategy: Strategy;
  private readonly downTime: number;
  /** node id → time until which it is skipped */
  private readonly down = new Map<string, number>();
  /** round-robin position per service name */
  private readonly cursor = new Map<string, number>();
  /** flattened nodes per registry answer, so repeated picks do no work */
  private readonly flat = new WeakMap<readonly Service[], Node[]>();
  /** The registry's synchronous cache lookup, when it has one. */
  private readonly cached: ((name: string) => readonly Service[] | undefined) | undefined;

  constructor(registry: Registry, options: SelectorOptions = {}) {
    this.registry = registry;
    this.strategy = options.strategy ?? "random";
    this.downTime = options.downTime ?? 30_000;
    const c = (registry as Partial<CacheRegistry>).cached;
    this.cached = typeof c === "function" ? c.bind(registry) : undefined;
  }

  /** One node for one attempt; a MicroError 500 when there is none, as upstream. */
  async select(service: string, options?: SelectOptions): Promise<Node> {
    const services = await this.registry.getService(service);
    return this.pick(service, services, options);
  }

  /**
   * select without waiting, when the registry is a cache that holds the
   * service; undefined means "call select". Throws as select does.
   */
  selectNow(service: string, options?: SelectOptions): Node | undefined {
    const services = this.cached?.(service);
    return services === undefined ? undefined : this.pick(service, services, options);
  }

  /** The synchronous part of select, over a registry answer. */
  pick(service: string, services: readonly Service[], options?: SelectOptions): Node {
    if (services.length === 0) throw internalServerError("go.micro.client", "service %s: not found", service);
    let nodes: Node[];
    if (options?.filters?.length) {
      let filtered = [...services]; // filters get their own array: the cache's is shared
      for (const f of options.filters) filtered = f(filtered);
      nodes = flatten(filtered);
    } else {
      let flat = this.flat.get(services);
      if (flat === undefined) this.flat.set(services, (flat = flatten(services)));
      nodes = flat;
    }
    if (this.down.size > 0) {
      // When every node looks down, try them anyway: a mark may be stale, and
      // refusing all calls would turn one reset into an outage.
      const alive = this.skipDown(nodes);
      if (alive.length > 0) nodes = alive;
    }
    const n = nodes.length;
    if (n === 0) throw internalServerError("go.micro.client", "error getting next %s node: none available", service);
    if ((options?.strategy ?? this.strategy) === "roundrobin") {
      const i = this.cursor.get(service) ?? Math.floor(Math.random() * n);
      this.cursor.set(service, (i + 1) % 0x40000000);
      return nodes[i % n]!;
    }
    return nodes[Math.floor(Math.random() * n)]!;
  }

  /** Record the outcome of a connection attempt to a node. */
  mark(nodeId: string, connected: boolean): void {
    if (connected) {
      if (this.down.size > 0) this.down.delete(nodeId);
    } else {
      this.down.set(nodeId, Date.now() + this.downTime);
    }
  }

  private skipDown(nodes: Node[]): Node[] {
    const now = Date.now();
    const alive = nodes.filter((node) => {
      const until = this.down.get(node.id);
      if (until === undefined) return true;
      if (until <= now) {
        this.down.delete(node.id);
        return true;
      }
      return false;
    });
    return alive;
  }
}

function flatten(services: readonly Service[]): Node[] {
  if (services.length === 1) return services[0]!.nodes ?? [];
  const out: Node[] = [];
  for (const s of services) if (s.nodes) out.push(...s.nodes);
  return out;
}

/** Only the given versions. */
export function filterVersion(...versions: string[]): Filter {
  return (services) => services.filter((s) => versions.includes(s.version));
}

/** Only nodes whose metadata has key=value. */
export function filterLabel(key: string, value: string): Filter {
  return (services) =>
    services.map((s) => ({ ...s, nodes: (s.nodes ?? []).filter((n) => n.metadata?.[key] === value) }));
}

/** Only versions that advertise the endpoint (versions without a list are kept, as upstream). */
export function filterEndpoint(name: string): Filter {
  return (services) =>
    services.filter((s) => !s.endpoints || s.endpoints.length === 0 || s.endpoints.some((e) => e.name === name));
}
