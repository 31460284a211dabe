// micro list services | get service | register service | deregister service
import type { Service } from "../registry/registry.js";
import { bounded, type Runtime } from "./runtime.js";
import { formatService } from "./format.js";

const REGISTRY_WAIT = 10_000;

export async function listServices(rt: Runtime): Promise<string> {
  const services = await bounded(`registry ${rt.config.registry}`, REGISTRY_WAIT, rt.registry.listServices());
  return services.map((s) => s.name).sort().join("\n");
}

export async function getService(rt: Runtime, name: string): Promise<string> {
  const versions = await bounded(`registry ${rt.config.registry}`, REGISTRY_WAIT, rt.registry.getService(name));
  if (versions.length === 0) throw new Error("Service not found");
  return formatService(versions);
}

function parseService(text: string): Service {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`invalid service definition: ${(err as Error).message}`);
  }
  const s = v as Partial<Service> | null;
  if (!s || typeof s !== "object" || typeof s.name !== "string" || !s.name) {
    throw new Error('invalid service definition: want {"name": ..., "version": ..., "nodes": [{"id": ..., "address": ...}]}');
  }
  const nodes = Array.isArray(s.nodes) ? s.nodes : [];
  for (const n of nodes) {
    if (!n || typeof n.id !== "string" || typeof n.address !== "string") throw new Error("invalid service definition: every node needs an id and an address");
  }
  return {
    name: s.name,
    version: typeof s.version === "string" ? s.version : "",
    metadata: s.metadata ?? null,
    endpoints: s.endpoints ?? null,
    nodes: nodes.map((n) => ({ id: n.id, address: n.address, metadata: n.metadata ?? null })),
  };
}

export async function registerService(rt: Runtime, text: string): Promise<string> {
  const service = parseService(text);
  // As upstream: the definition is registered once, with the register TTL.
  await bounded(`registry ${rt.config.registry}`, REGISTRY_WAIT, rt.registry.register(service, { ttl: rt.config.registerTTL }));
  return "ok";
}

export async function deregisterService(rt: Runtime, text: string): Promise<string> {
  await bounded(`registry ${rt.config.registry}`, REGISTRY_WAIT, rt.registry.deregister(parseService(text)));
  return "ok";
}
