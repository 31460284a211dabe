// Answers of the HTTP front doors (micro api, micro web): every error is a
// go-micro error JSON with the HTTP status of its code, as upstream writes them.
import type { ServerResponse } from "node:http";
import { MicroError } from "../errors/errors.js";

/** Writes err as JSON; code 0 (a plain error text) becomes 500 "error during request: …", as upstream. */
export function writeError(res: ServerResponse, err: MicroError, id = "go.micro.api"): void {
  if (res.headersSent || res.destroyed) {
    res.destroy(); // mid-answer: the peer learns from the cut
    return;
  }
  const e = err.code === 0 ? new MicroError(id, 500, `error during request: ${err.detail}`) : err;
  const status = e.code >= 200 && e.code <= 599 ? e.code : 500;
  const body = JSON.stringify(e);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

export function writeJSON(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
