// The api handler (reference §5.4): the whole HTTP request goes to the
// service as a go.api.Request, and its go.api.Response becomes the HTTP
// answer. Both travel as JSON (proto3 JSON names) until protobuf lands.
import { MicroError } from "../../errors/errors.js";
import { errorAnswer, type HttpAnswer, type HttpRequest } from "../../http/exchange.js";
import { headerMetadata } from "../../http/metadata.js";
import { canonicalKey } from "../../metadata/metadata.js";
import { API_ID, type HandlerContext, type Target } from "./context.js";

export interface Pair {
  key: string;
  values: string[];
}

/** go.api.Request */
export interface ApiRequest {
  method: string;
  path: string;
  header: Record<string, Pair>;
  get: Record<string, Pair>;
  post: Record<string, Pair>;
  body: string;
  url: string;
}

/** go.api.Response */
export interface ApiResponse {
  statusCode?: number;
  header?: Record<string, Pair>;
  body?: string;
}

function add(map: Record<string, Pair>, key: string, value: string): void {
  (map[key] ??= { key, values: [] }).values.push(value);
}

export function buildRequest(req: HttpRequest): ApiRequest {
  const url = new URL(req.url, "http://gateway");
  const header: Record<string, Pair> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) add(header, canonicalKey(req.rawHeaders[i]!), req.rawHeaders[i + 1]!);
  if (!header["Content-Type"]) add(header, "Content-Type", "text/plain; charset=UTF-8");
  if (req.remoteAddress) add(header, "X-Forwarded-For", req.remoteAddress);
  if (!header.Host) add(header, "Host", req.headers.host ?? "");
  const get: Record<string, Pair> = {};
  for (const [k, v] of url.searchParams) add(get, k, v);
  const post: Record<string, Pair> = {};
  let body = "";
  if ((req.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(req.body.toString("utf8"))) add(post, k, v);
  } else {
    body = req.body.toString("utf8");
  }
  return { method: req.method, path: url.pathname, header, get, post, body, url: req.url };
}

export async function apiHandler(ctx: HandlerContext, req: HttpRequest, target: Target): Promise<HttpAnswer> {
  try {
    const rsp = await ctx.client.call<ApiResponse>(target.service, target.method, buildRequest(req), { metadata: headerMetadata(req.rawHeaders) });
    if (!rsp || typeof rsp !== "object") throw new MicroError(API_ID, 500, `${target.service} answered ${target.method} with something that is not a go.api.Response`);
    const headers: string[] = [];
    let typed = false;
    for (const pair of Object.values(rsp.header ?? {})) {
      if (!pair || typeof pair.key !== "string" || !Array.isArray(pair.values)) continue;
      const lower = pair.key.toLowerCase();
      if (lower === "content-length") continue; // ours to set
      if (lower === "content-type") typed = true;
      for (const v of pair.values) headers.push(pair.key, String(v));
    }
    if (!typed) headers.push("Content-Type", "application/json");
    const status = Number(rsp.statusCode) || 200;
    if (status < 200 || status > 599) throw new MicroError(API_ID, 500, `${target.service} answered with status ${status}`);
    return { status, headers, body: typeof rsp.body === "string" ? rsp.body : "" };
  } catch (err) {
    return errorAnswer(err, API_ID);
  }
}
