// HTTP request headers → call metadata, as upstream's gateways copy them, minus
// what describes this one HTTP hop (framing, connection, the mucp headers).
import { canonicalKey, carriesMetadata, outgoing, type Metadata } from "../metadata/metadata.js";

const HOP_BY_HOP = new Set(["Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"]);

/** The metadata from name/value pairs, or undefined when no header flows on: a call without metadata takes the client's fast path. */
export function headerMetadata(rawHeaders: readonly string[]): Metadata | undefined {
  const md: Metadata = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const key = canonicalKey(rawHeaders[i]!);
    if (HOP_BY_HOP.has(key)) continue;
    md[key] = md[key] === undefined ? rawHeaders[i + 1]! : `${md[key]},${rawHeaders[i + 1]!}`;
  }
  if (!carriesMetadata(md)) return undefined;
  return outgoing(md);
}
