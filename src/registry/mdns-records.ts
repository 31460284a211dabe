// The DNS side of the mDNS registry, in upstream's shapes (reference §1.5):
// which records announce a node, how its service travels in TXT, and how a
// received packet becomes nodes again. Pure functions: no sockets here.
//
// Names are written without the trailing dot, as dns-packet does.
import { deflateSync, inflateSync } from "node:zlib";
import { isIP } from "node:net";
import type { Answer, Packet, Question } from "dns-packet";
import type { Endpoint, Node, Service } from "./registry.js";
import { copyEndpoint } from "./services.js";
import { goJSON } from "../util/gojson.js";
import { splitHostPort } from "../util/addr.js";

export const MDNS_DOMAIN = "micro";
/** The service name of the one entry per service that list queries find. */
export const LIST_SERVICE = "_services";
/** Port and address of that entry: nothing listens there, as upstream. */
const LIST_PORT = 9999;
const LIST_IP = "0.0.0.0";
/** Seconds a record lives when the registration has no TTL (upstream's fixed value). */
export const DEFAULT_RECORD_TTL = 120;
const CHUNK = 255;

/** What the TXT record carries, with upstream's untagged Go field names. */
export interface MdnsTxt {
  Service: string;
  Version: string;
  Endpoints: Endpoint[] | null;
  /** The node's metadata (the service's own metadata does not travel over mDNS). */
  Metadata: Record<string, string> | null;
}

/** hex(zlib(json)), cut into strings of at most 255 characters. */
export function encodeTxt(txt: MdnsTxt): string[] {
  const json = goJSON({ Service: txt.Service, Version: txt.Version, Endpoints: txt.Endpoints, Metadata: txt.Metadata });
  const hex = deflateSync(json).toString("hex");
  const chunks: string[] = [];
  for (let i = 0; i < hex.length; i += CHUNK) chunks.push(hex.slice(i, i + CHUNK));
  return chunks.length ? chunks : [""];
}

/** The inverse of encodeTxt; undefined for anything that is not one of ours. */
export function decodeTxt(chunks: readonly (string | Buffer)[]): MdnsTxt | undefined {
  const hex = chunks.map((c) => c.toString()).join("");
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(hex)) return undefined;
  try {
    const value = JSON.parse(inflateSync(Buffer.from(hex, "hex"), { maxOutputLength: 1 << 20 }).toString()) as MdnsTxt;
    if (!value || typeof value.Service !== "string" || typeof value.Version !== "string") return undefined;
    return value;
  } catch {
    return undefined;
  }
}

/** One announced entry: a node (instance = node id) or a service's list entry (service = _services). */
export interface Zone {
  instance: string;
  service: string;
  domain: string;
  /** The SRV target: this host's name. */
  host: string;
  port: number;
  ips: string[];
  txt: string[];
  /** Record TTL in seconds. */
  ttl: number;
}

export const serviceAddr = (service: string, domain: string) => `${service}.${domain}`;
export const instanceAddr = (zone: Pick<Zone, "instance" | "service" | "domain">) => `${zone.instance}.${zone.service}.${zone.domain}`;
/** DNS-SD's enumeration name, answered with the service names. */
export const enumAddr = (domain: string) => `_services._dns-sd._udp.${domain}`;

/** The zone announcing one node of a service. Throws with one line when DNS cannot carry it. */
export function nodeZone(service: Service, node: Node, domain: string, host: string, ttl: number): Zone {
  const { host: ip, port } = splitHostPort(node.address);
  if (!isIP(ip)) throw new Error(`mdns: node ${node.id} has address ${node.address}: an IP address is needed (set --server_advertise)`);
  if (port === 0) throw new Error(`mdns: node ${node.id} has no port`);
  const zone: Zone = {
    instance: node.id,
    service: service.name,
    domain,
    host,
    port,
    ips: [ip],
    txt: encodeTxt({
      Service: service.name,
      Version: service.version,
      Endpoints: service.endpoints ? service.endpoints.map((e) => ({ ...copyEndpoint(e), metadata: sortedMap(e.metadata) })) : null,
      Metadata: sortedMap(node.metadata),
    }),
    ttl,
  };
  checkName(instanceAddr(zone));
  return zone;
}

/** Go's json.Marshal writes map keys sorted. */
function sortedMap(map: Record<string, string> | null | undefined): Record<string, string> | null {
  if (!map) return null;
  const out: Record<string, string> = {};
  for (const key of Object.keys(map).sort()) out[key] = map[key]!;
  return out;
}

/** The list entry of a service: what `_services` queries find. */
export function listZone(name: string, domain: string, host: string, ttl: number): Zone {
  const zone: Zone = { instance: name, service: LIST_SERVICE, domain, host, port: LIST_PORT, ips: [LIST_IP], txt: [], ttl };
  checkName(instanceAddr(zone));
  return zone;
}

// DNS limits: labels of 63 bytes, names of 253 characters.
function checkName(name: string): void {
  const label = name.split(".").find((l) => Buffer.byteLength(l) > 63 || l.length === 0);
  if (label !== undefined || name.length > 253) {
    throw new Error(`mdns: ${JSON.stringify(name)} is not a valid DNS name (labels of 1-63 bytes, 253 characters in all)`);
  }
}

/** Every record of a zone, PTR first; ttl 0 makes the goodbye. */
export function zoneRecords(zone: Zone, ttl = zone.ttl): Answer[] {
  const name = instanceAddr(zone);
  const out: Answer[] = [
    { name: serviceAddr(zone.service, zone.domain), type: "PTR", class: "IN", ttl, data: name },
    { name, type: "SRV", class: "IN", ttl, data: { priority: 10, weight: 1, port: zone.port, target: zone.host } },
  ];
  for (const ip of zone.ips) {
    out.push(isIP(ip) === 4 ? { name: zone.host, type: "A", class: "IN", ttl, data: ip } : { name: zone.host, type: "AAAA", class: "IN", ttl, data: ip });
  }
  out.push({ name, type: "TXT", class: "IN", ttl, data: zone.txt });
  return out;
}

/**
 * Does the zone answer this question? A service name (PTR or ANY) and the
 * instance's own name (any type) do; so does the DNS-SD enumeration name.
 */
export function answers(zone: Zone, question: Question): "zone" | "enum" | undefined {
  const name = question.name.toLowerCase();
  if (name === instanceAddr(zone).toLowerCase()) return "zone";
  const byService = question.type === "PTR" || (question.type as string) === "ANY";
  if (byService && name === serviceAddr(zone.service, zone.domain).toLowerCase()) return "zone";
  if (byService && name === enumAddr(zone.domain).toLowerCase()) return "enum";
  return undefined;
}

export function enumRecord(zone: Zone): Answer {
  return { name: enumAddr(zone.domain), type: "PTR", class: "IN", ttl: zone.ttl, data: serviceAddr(zone.service, zone.domain) };
}

/** An instance as gathered from one packet. */
export interface Seen {
  /** The instance name: `<id>.<service>.<domain>`. */
  name: string;
  host?: string;
  port?: number;
  ipv4?: string;
  ipv6?: string;
  txt?: Buffer[];
  /** Of the SRV record (0: goodbye). */
  ttl: number;
}

export function complete(seen: Seen): boolean {
  return seen.port !== undefined && (seen.ipv4 !== undefined || seen.ipv6 !== undefined) && seen.txt !== undefined;
}

/**
 * The instances a packet speaks of. Addresses come from A/AAAA records named
 * by the SRV target (upstream: the host name) or by the instance itself.
 */
export function instancesOf(packet: Packet): Seen[] {
  const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
  const byName = new Map<string, Seen>();
  const ensure = (name: string, ttl: number) => {
    let seen = byName.get(name);
    if (!seen) byName.set(name, (seen = { name, ttl }));
    return seen;
  };
  const v4 = new Map<string, string>();
  const v6 = new Map<string, string>();
  for (const r of records) {
    switch (r.type) {
      case "PTR":
        // The DNS-SD enumeration points at service names, not instances.
        if (typeof r.data === "string" && !r.name.startsWith("_services._dns-sd._udp.")) ensure(r.data, r.ttl ?? 0);
        break;
      case "SRV": {
        const seen = ensure(r.name, r.ttl ?? 0);
        seen.ttl = r.ttl ?? 0;
        seen.port = r.data.port;
        seen.host = r.data.target;
        break;
      }
      case "TXT":
        ensure(r.name, r.ttl ?? 0).txt = (Array.isArray(r.data) ? r.data : [r.data]).map((d) => (typeof d === "string" ? Buffer.from(d) : d));
        break;
      case "A":
        v4.set(r.name.toLowerCase(), r.data);
        break;
      case "AAAA":
        v6.set(r.name.toLowerCase(), r.data);
        break;
    }
  }
  for (const seen of byName.values()) {
    for (const key of [seen.host?.toLowerCase(), seen.name.toLowerCase()]) {
      if (key === undefined) continue;
      seen.ipv4 ??= v4.get(key);
      seen.ipv6 ??= v6.get(key);
    }
  }
  return [...byName.values()];
}

/** A complete instance of a node as a one-node service; undefined when it is not ours to read. */
export function serviceOf(seen: Seen, domain: string): Service | undefined {
  if (!complete(seen)) return undefined;
  const txt = decodeTxt(seen.txt!);
  if (!txt || !txt.Service) return undefined;
  const suffix = `.${txt.Service}.${domain}`;
  if (!seen.name.endsWith(suffix) || seen.name.length === suffix.length) return undefined;
  const ip = seen.ipv4 ?? `[${seen.ipv6}]`;
  return {
    name: txt.Service,
    version: txt.Version,
    metadata: null,
    endpoints: Array.isArray(txt.Endpoints) ? txt.Endpoints : null,
    nodes: [{ id: seen.name.slice(0, -suffix.length), address: `${ip}:${seen.port}`, metadata: txt.Metadata ?? null }],
  };
}

/** The service name a list entry stands for, or undefined. */
export function listedName(seen: Seen, domain: string): string | undefined {
  const suffix = `.${LIST_SERVICE}.${domain}`;
  if (seen.ttl === 0 || !seen.name.endsWith(suffix) || seen.name.length === suffix.length) return undefined;
  return seen.name.slice(0, -suffix.length);
}
