import { networkInterfaces } from "node:os";
import { isIP } from "node:net";

/** Splits "host:port" (also "[::1]:80" and ":0") into its parts. */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  if (i < 0) throw new Error(`address ${JSON.stringify(address)} has no port`);
  let host = address.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const portText = address.slice(i + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`address ${JSON.stringify(address)} has a bad port`);
  return { host, port };
}

export function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

const PRIVATE_V4 = [/^10\./, /^172\.(1[6-9]|2\d|3[01])\./, /^192\.168\./, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./];

/**
 * Upstream util/addr.Extract: a concrete host is kept; an empty or unspecified
 * one becomes the first private interface address (loopback when none).
 */
export function advertiseHost(host: string): string {
  if (host && host !== "0.0.0.0" && host !== "::" && host !== "[::]") return host;
  const candidates: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) candidates.push(a.address);
  }
  return candidates.find((a) => PRIVATE_V4.some((r) => r.test(a))) ?? candidates[0] ?? "127.0.0.1";
}
