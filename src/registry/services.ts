// Helpers over Service values shared by the registry implementations.
// Copies are explicit (not structuredClone) so they also normalise what plain
// JavaScript callers leave out: a missing map or list becomes null, as in Go,
// and keys come out in upstream's order, which JSON.stringify then keeps.
import { isDeepStrictEqual } from "node:util";
import type { Endpoint, Node, Service, Value } from "./registry.js";

function copyMap(map: Record<string, string> | null | undefined): Record<string, string> | null {
  return map ? { ...map } : null;
}

export function copyValue(value: Value | null | undefined): Value | null {
  if (!value) return null;
  return { name: value.name, type: value.type, values: value.values ? value.values.map((v) => copyValue(v)!) : null };
}

export function copyEndpoint(endpoint: Endpoint): Endpoint {
  return {
    name: endpoint.name,
    request: copyValue(endpoint.request),
    response: copyValue(endpoint.response),
    metadata: copyMap(endpoint.metadata),
  };
}

export function copyNode(node: Node): Node {
  return { id: node.id, address: node.address, metadata: copyMap(node.metadata) };
}

/** A deep copy; `nodes` replaces the service's own nodes when given. */
export function copyService(service: Service, nodes: Node[] | null | undefined = service.nodes): Service {
  return {
    name: service.name,
    version: service.version,
    metadata: copyMap(service.metadata),
    endpoints: service.endpoints ? service.endpoints.map(copyEndpoint) : null,
    nodes: nodes ? nodes.map(copyNode) : null,
  };
}

export function copyServices(services: readonly Service[]): Service[] {
  return services.map((s) => copyService(s));
}

/** Same content, whatever the key order. */
export function sameService(a: Service, b: Service): boolean {
  return isDeepStrictEqual(a, b);
}

/** Why `service` cannot be registered, or undefined when it can. */
export function invalidService(service: Service | null | undefined): string | undefined {
  if (!service || typeof service.name !== "string" || service.name === "") return "service name is required";
  if (typeof service.version !== "string") return `service ${service.name}: version must be a string`;
  for (const node of service.nodes ?? []) {
    if (!node || typeof node.id !== "string" || node.id === "") return `service ${service.name}: every node needs an id`;
  }
  return undefined;
}

/**
 * Merge one-node services (all of one name) into one Service per version, in
 * the order versions are first seen; a node id seen twice keeps the last copy.
 */
export function mergeByVersion(services: Iterable<Service>): Service[] {
  const byVersion = new Map<string, Service>();
  for (const service of services) {
    const merged = byVersion.get(service.version);
    if (!merged) {
      byVersion.set(service.version, copyService(service));
      continue;
    }
    const nodes = (merged.nodes ??= []);
    for (const node of service.nodes ?? []) {
      const i = nodes.findIndex((n) => n.id === node.id);
      if (i >= 0) nodes[i] = copyNode(node);
      else nodes.push(copyNode(node));
    }
  }
  return [...byVersion.values()];
}

/** One entry per name and version, sorted by name (then version), nodes merged. */
export function listByNameAndVersion(services: Iterable<Service>): Service[] {
  const byName = new Map<string, Service[]>();
  for (const service of services) {
    const list = byName.get(service.name);
    if (list) list.push(service);
    else byName.set(service.name, [service]);
  }
  const out: Service[] = [];
  for (const list of byName.values()) out.push(...mergeByVersion(list));
  return out.sort((a, b) => compare(a.name, b.name) || compare(a.version, b.version));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
