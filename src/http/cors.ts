// CORS as upstream's api/server/cors (reference §5.5): on by default for
// micro api; preflights are answered here with 200 and no body.
import type { IncomingMessage, ServerResponse } from "node:http";

const METHODS = "POST, PATCH, GET, OPTIONS, PUT, DELETE";
const HEADERS = "Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization";

/** Sets the CORS headers; true when the request was a preflight and has been answered. */
export function cors(req: IncomingMessage, res: ServerResponse): boolean {
  res.setHeader("Access-Control-Allow-Origin", req.headers.origin ?? "*");
  res.setHeader("Access-Control-Allow-Credentials", "true");
  res.setHeader("Access-Control-Allow-Methods", METHODS);
  res.setHeader("Access-Control-Allow-Headers", HEADERS);
  if (req.method !== "OPTIONS") return false;
  res.writeHead(200, { "Content-Length": 0 });
  res.end();
  return true;
}
