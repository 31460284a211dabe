// What the dashboard shows, read from the registry: the upstream JSON answers
// of /services and /service/{name}, and the richer views the pages render
// (node counts, web apps, request/response shapes formatted as the CLI does).
import type { Endpoint, Node, Registry, Service, Value } from "../registry/registry.js";
import { formatService, formatShape } from "../registry/format.js";
import { withTimeout } from "../util/timeout.js";

/** How long a registry read may take before the page says so. */
const READ_MS = 5_000;

function bounded<T>(what: string, work: Promise<T>): Promise<T> {
  return withTimeout(work, READ_MS, `${what}: the registry did not answer within ${READ_MS} ms`);
}

const byNameVersion = (a: Service, b: Service) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0);

/** Every service, one entry per name and version, with its nodes (listServices may leave them out). */
export async function allServices(registry: Registry): Promise<Service[]> {
  const listed = await bounded("listing services", registry.listServices());
  const names = [...new Set(listed.map((s) => s.name))];
  const full = await Promise.all(names.map((n) => bounded(`reading ${n}`, registry.getService(n)).catch(() => listed.filter((s) => s.name === n))));
  return full.flat().sort(byNameVersion);
}

export async function oneService(registry: Registry, name: string): Promise<Service[]> {
  return (await bounded(`reading ${name}`, registry.getService(name))).slice().sort(byNameVersion);
}

export interface NodeSummary extends Node {
  version: string;
}

export interface ServiceSummary {
  name: string;
  versions: string[];
  /** Every node of every version. */
  nodes: NodeSummary[];
  /** How many endpoints (over all versions). */
  endpoints: number;
  /** The proxy link when it is a web app of this namespace. */
  link: string | null;
}

export interface WebApp {
  /** The path alias: go.micro.web.greeter → greeter. */
  alias: string;
  name: string;
  link: string;
  nodes: number;
}

export interface Overview {
  namespace: string;
  services: ServiceSummary[];
  webApps: WebApp[];
}

/** The link micro web serves a web app at, or null when it is not one of its namespace. */
export function webLink(name: string, namespace: string): string | null {
  if (!name.startsWith(`${namespace}.`)) return null;
  const alias = name.slice(namespace.length + 1);
  return /^[a-zA-Z0-9]+([a-zA-Z0-9-]*[a-zA-Z0-9]*)?$/.test(alias) ? `/${alias}/` : null;
}

export function overview(services: Service[], namespace: string): Overview {
  const byName = new Map<string, Service[]>();
  for (const s of services) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const summaries: ServiceSummary[] = [];
  const webApps: WebApp[] = [];
  for (const [name, versions] of byName) {
    const nodes = versions.flatMap((s) => (s.nodes ?? []).map((n) => ({ ...n, version: s.version })));
    const endpoints = new Set(versions.flatMap((s) => (s.endpoints ?? []).map((e) => e.name))).size;
    const link = webLink(name, namespace);
    summaries.push({ name, versions: versions.map((s) => s.version), nodes, endpoints, link });
    if (link) webApps.push({ alias: link.slice(1, -1), name, link, nodes: nodes.length });
  }
  return { namespace, services: summaries, webApps };
}

export interface EndpointView {
  name: string;
  metadata: Record<string, string>;
  /** The shapes as `micro get service` prints them. */
  request: string;
  response: string;
  /** A request to start from: the request shape's fields with empty values, as JSON text. */
  example: string;
}

export interface ServiceView {
  name: string;
  link: string | null;
  versions: { version: string; metadata: Record<string, string>; nodes: Node[] }[];
  endpoints: EndpointView[];
  /** The whole service as `micro get service` prints it. */
  cli: string;
}

export { formatShape };

const NUMBER = /^(u?int(8|16|32|64)?|float(32|64)?|double|float|sint(32|64)|s?fixed(32|64)|number)$/;

function exampleOf(v: Value): unknown {
  const t = v.type;
  if (t.startsWith("[]") || t.startsWith("repeated")) return [];
  if (t.startsWith("map[") || t.startsWith("map<")) return {};
  if (v.values && v.values.length > 0) return Object.fromEntries(v.values.map((c) => [c.name, exampleOf(c)]));
  if (t === "string") return "";
  if (t === "bool" || t === "boolean") return false;
  if (NUMBER.test(t)) return 0;
  if (t === "[]byte" || t === "bytes") return "";
  return null;
}

/** `{"name": ""}` for shape("Request", { name: "string" }). */
export function exampleRequest(v: Value | null): string {
  if (!v || !v.values || v.values.length === 0) return "{}";
  return JSON.stringify(exampleOf(v), null, 2);
}

function endpointView(e: Endpoint): EndpointView {
  return {
    name: e.name,
    metadata: e.metadata ?? {},
    request: formatShape(e.request),
    response: formatShape(e.response),
    example: exampleRequest(e.request),
  };
}

export function serviceView(versions: Service[], namespace: string): ServiceView {
  const name = versions[0]!.name;
  // Endpoints of every version, first seen wins (versions usually agree).
  const endpoints = new Map<string, Endpoint>();
  for (const s of versions) for (const e of s.endpoints ?? []) if (!endpoints.has(e.name)) endpoints.set(e.name, e);
  return {
    name,
    link: webLink(name, namespace),
    versions: versions.map((s) => ({ version: s.version, metadata: s.metadata ?? {}, nodes: s.nodes ?? [] })),
    endpoints: [...endpoints.values()].map(endpointView),
    cli: formatService(versions),
  };
}
