// Per-call metadata: a string map whose keys are Go-canonical header names
// (Micro-From-Service, X-Foo). It travels as mucp headers and, inside a
// handler, in AsyncLocalStorage so that calls the handler makes carry it on.
import { AsyncLocalStorage } from "node:async_hooks";

export type Metadata = Record<string, string>;

// Stateless key for the async context, like a Go context key; not mutable state.
const storage = new AsyncLocalStorage<Metadata>();

/** The metadata of the call being handled, if any. */
export function fromContext(): Metadata | undefined {
  return storage.getStore();
}

/** Runs fn with md as the current metadata. */
export function withMetadata<T>(md: Metadata, fn: () => T): T {
  return storage.run(md, fn);
}

/** Go's textproto.CanonicalMIMEHeaderKey: "micro-from-service" → "Micro-From-Service". */
export function canonicalKey(key: string): string {
  let upper = true;
  let out = "";
  let changed = false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    // Keys with characters outside the token set are left alone, as Go does.
    if (!isTokenChar(c)) return key;
    let d = c;
    if (upper && c >= 97 && c <= 122) d = c - 32;
    else if (!upper && c >= 65 && c <= 90) d = c + 32;
    if (d !== c) changed = true;
    out += String.fromCharCode(d);
    upper = c === 45; // '-'
  }
  return changed ? out : key;
}

function isTokenChar(c: number): boolean {
  if (c <= 32 || c >= 127) return false;
  // separators of RFC 7230
  return '"(),/:;<=>?@[\\]{}'.indexOf(String.fromCharCode(c)) < 0;
}

/** Upstream metadata.Get: the exact key, then its canonical form. */
export function get(md: Metadata | undefined, key: string): string | undefined {
  if (!md) return undefined;
  return md[key] ?? md[canonicalKey(key)];
}

/** A copy of md with canonical keys. */
export function canonical(md: Record<string, string>): Metadata {
  const out: Metadata = {};
  for (const k of Object.keys(md)) out[canonicalKey(k)] = md[k]!;
  return out;
}

/**
 * Keys that describe one hop (the mucp request itself) rather than the call
 * chain; they are not carried on when a handler calls another service.
 */
const HOP_KEYS = new Set([
  "Micro-Id", "Micro-Service", "Micro-Method", "Micro-Endpoint", "Micro-Error", "Micro-Stream",
  "X-Micro-Id", "X-Micro-Service", "X-Micro-Method", "X-Micro-Endpoint", "X-Micro-Error", "X-Micro-Stream",
  "Content-Type", "Content-Length", "Accept", "Timeout", "Host", "User-Agent", "Connection",
  "Local", "Remote", "Micro-From-Service",
]);

/** The part of incoming metadata that flows on to outgoing calls. */
export function outgoing(md: Metadata): Metadata {
  const out: Metadata = {};
  for (const k of Object.keys(md)) if (!HOP_KEYS.has(k)) out[k] = md[k]!;
  return out;
}
