// CORS as upstream's api/server/cors (reference §5.5): on by default for
// micro api; preflights are answered with 200 and no body.
import type { IncomingMessage, ServerResponse } from "node:http";

const METHODS = "POST, PATCH, GET, OPTIONS, PUT, DELETE";
const HEADERS = "Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization";

/** The CORS headers for a request from origin (any origin when absent), as name/value pairs. */
export function corsHeaders(origin: string | undefined): string[] {
  return ["Access-Control-Allow-Origin", origin ?? "*", "Access-Control-Allow-Credentials", "true", "Access-Control-Allow-Methods", METHODS, "Access-Control-Allow-Headers", HEADERS];
}

/** node:http: sets the CORS headers on res; with `preflight`, answers an OPTIONS request (true when it did). */
export function cors(req: IncomingMessage, res: ServerResponse, preflight = true): boolean {
  const h = corsHeaders(req.headers.origin);
  for (let i = 0; i < h.length; i += 2) res.setHeader(h[i]!, h[i + 1]!);
  if (!preflight || req.method !== "OPTIONS") return false;
  res.writeHead(200, { "Content-Length": 0 });
  res.end();
  return true;
}
