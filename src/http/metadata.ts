// HTTP request headers → call metadata, as upstream's gateways copy them, minus
// what describes this one HTTP hop (framing, connection, the mucp headers).
import type { IncomingMessage } from "node:http";
import { canonicalKey, carriesMetadata, outgoing, type Metadata } from "../metadata/metadata.js";

const HOP_BY_HOP = new Set(["Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"]);

/** The metadata, or undefined when no header flows on: a call without metadata takes the client's fast path. */
export function headerMetadata(req: IncomingMessage): Metadata | undefined {
  const md: Metadata = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const key = canonicalKey(raw[i]!);
    if (HOP_BY_HOP.has(key)) continue;
    md[key] = md[key] === undefined ? raw[i + 1]! : `${md[key]},${raw[i + 1]!}`;
  }
  if (!carriesMetadata(md)) return undefined;
  return outgoing(md);
}
