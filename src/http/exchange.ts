// A buffered exchange: an HTTP request with its whole body, and its answer as
// a value. Handlers written this way (the gateway's rpc and api handlers, /rpc)
// run on either front: the lean connection (conn.ts), which serves them without
// node:http's objects, and node:http, through serveBuffered().
import type { IncomingMessage, ServerResponse } from "node:http";
import { MicroError, fromError } from "../errors/errors.js";
import { readBody, type BodyLimits } from "./body.js";

export interface HttpRequest {
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly url: string;
  /** "1.1" or "1.0". */
  readonly httpVersion: string;
  /** The first value of each header, by lower-case name. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Every header line as sent: name, value, name, value… */
  readonly rawHeaders: readonly string[];
  readonly remoteAddress: string;
  readonly body: Buffer;
}

/** An answer. Fronts never change one, so a handler may hand out the same answer again and again. */
export interface HttpAnswer {
  status: number;
  /** name, value, name, value… (Content-Length is the front's to set). */
  headers: string[];
  body: Buffer | string;
}

export type BufferedHandler = (req: HttpRequest) => HttpAnswer | Promise<HttpAnswer>;

const JSON_TYPE = ["Content-Type", "application/json"];

export function jsonAnswer(status: number, value: unknown): HttpAnswer {
  return { status, headers: [...JSON_TYPE], body: JSON.stringify(value) };
}

/** err as upstream writes it: go-micro error JSON, status = code; code 0 (a plain text) is 500 "error during request: …". */
export function errorAnswer(err: unknown, id: string): HttpAnswer {
  const e0 = err instanceof MicroError ? err : fromError(err, id);
  const e = e0.code === 0 ? new MicroError(id, 500, `error during request: ${e0.detail}`) : e0;
  return jsonAnswer(e.code >= 200 && e.code <= 599 ? e.code : 500, e);
}

/** First value per lower-case name, from name/value pairs. */
export function firstValues(raw: readonly string[]): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (headers[k] === undefined && k !== "__proto__") headers[k] = raw[i + 1]!;
  }
  return headers;
}

// ---------------------------------------------------------------- node:http

/** The buffered form of a node:http request: its body read within the limits (413, 408 otherwise). */
export async function requestOf(req: IncomingMessage, limits: BodyLimits): Promise<HttpRequest> {
  const body = await readBody(req, limits);
  return {
    method: req.method ?? "GET",
    url: req.url ?? "/",
    httpVersion: req.httpVersion,
    headers: req.headers as Record<string, string | undefined>,
    rawHeaders: req.rawHeaders,
    remoteAddress: req.socket?.remoteAddress ?? "",
    body,
  };
}

/** Writes an answer on a node:http response; a response already under way is cut (the peer learns from that). */
export function writeAnswer(res: ServerResponse, a: HttpAnswer): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = typeof a.body === "string" ? Buffer.from(a.body) : a.body;
  const bodiless = a.status === 204 || a.status === 304 || a.status < 200;
  res.writeHead(a.status, bodiless ? a.headers : [...a.headers, "Content-Length", String(body.length)]);
  res.end(bodiless ? undefined : body); // node:http sends no body to a HEAD request itself
}

/** Serves a buffered handler on node:http: reads the body, runs it, writes the answer (an error JSON if it throws). */
export async function serveBuffered(req: IncomingMessage, res: ServerResponse, limits: BodyLimits, handler: BufferedHandler): Promise<void> {
  let answer: HttpAnswer;
  try {
    answer = await handler(await requestOf(req, limits));
  } catch (err) {
    answer = errorAnswer(err, limits.id);
  }
  try {
    writeAnswer(res, answer);
  } catch (err) {
    // node:http refused a header (a backend's answer with a bad name or value).
    writeAnswer(res, errorAnswer(new MicroError(limits.id, 500, `bad answer: ${(err as Error).message}`), limits.id));
  }
}
