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

/** Runs fn(...args) with md as the current metadata (args spare the caller a closure). */
export function withMetadata<T, A extends unknown[]>(md: Metadata, fn: (...args: A) => T, ...args: A): T {
  return storage.run(md, fn, ...args);
}

// RFC 7230 tchar: the bytes Go accepts in a header name.
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = TOKEN[c + 32] = 1;

/** Whether a char code may stand in a header key (an RFC 7230 token). */
export const isToken = (c: number): boolean => c < 128 && TOKEN[c] === 1;

/**
 * Go's textproto.CanonicalMIMEHeaderKey: "micro-from-service" → "Micro-From-Service";
 * first letter and every letter after "-" upper-case, the rest lower-case; a key
 * with a non-token byte comes back as it is. Already-canonical keys cost no copy.
 */
export function canonicalKey(key: string): string {
  let upper = true;
  let canonical = true;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (!isToken(c)) return key;
    if (upper ? c >= 97 && c <= 122 : c >= 65 && c <= 90) canonical = false;
    upper = c === 45;
  }
  if (canonical) return key;
  let out = "";
  upper = true;
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (upper && c >= 97 && c <= 122) c -= 32;
    else if (!upper && c >= 65 && c <= 90) c += 32;
    out += String.fromCharCode(c);
    upper = c === 45;
  }
  return out;
}

/** Whether a key can travel as a header (Go silently drops the others). */
export function isHeaderKey(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) if (!isToken(key.charCodeAt(i))) return false;
  return true;
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

/** Whether incoming metadata has anything that flows on (outgoing(md) is not empty), without copying. */
export function carriesMetadata(md: Metadata | undefined): boolean {
  if (md === undefined) return false;
  for (const k in md) if (!HOP_KEYS.has(k)) return true;
  return false;
}

/** The part of incoming metadata that flows on to outgoing calls. */
export function outgoing(md: Metadata): Metadata {
  const out: Metadata = {};
  for (const k of Object.keys(md)) if (!HOP_KEYS.has(k)) out[k] = md[k]!;
  return out;
}
