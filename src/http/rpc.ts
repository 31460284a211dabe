// /rpc (reference §5.4): call any service and endpoint named in the request,
// from a JSON body or form fields, as `micro api --enable_rpc` and `micro web`
// serve it. An allow-list of service-name prefixes may bound what it reaches.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Client } from "../client/client.js";
import { MicroError, fromError } from "../errors/errors.js";
import { readBody } from "./body.js";
import { writeError } from "./errors.js";
import { headerMetadata } from "./metadata.js";

const ID = "go.micro.rpc";

export interface RpcOptions {
  client: Client;
  /** Service-name prefixes /rpc may call; empty or absent: every service, as upstream. */
  allow?: readonly string[];
  /** bytes of request body; default 10 MiB. */
  maxBodyBytes?: number;
  /** ms for the body to arrive; default 10 s. */
  bodyTimeoutMs?: number;
}

interface RpcRequest {
  service: string;
  endpoint: string;
  address: string;
  /** The request as JSON text. */
  request: string;
}

export function rpcHandler(options: RpcOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const allow = (options.allow ?? []).filter(Boolean);
  const limits = { maxBytes: options.maxBodyBytes ?? 10 << 20, timeoutMs: options.bodyTimeoutMs ?? 10_000, id: ID };
  return async (req, res) => {
    try {
      if (req.method !== "POST") throw new MicroError(ID, 405, `method ${req.method} not allowed: POST a service, an endpoint and a request`);
      const body = await readBody(req, limits);
      const call = parse(body, req.headers["content-type"] ?? "");
      if (!call.service) throw new MicroError(ID, 400, "invalid service");
      if (!call.endpoint) throw new MicroError(ID, 400, "invalid endpoint");
      if (allow.length > 0 && !allow.some((p) => call.service.startsWith(p))) {
        throw new MicroError(ID, 403, `service ${call.service} is not reachable through /rpc`);
      }
      const seconds = Number(req.headers.timeout);
      const rsp = await options.client.call<Buffer>(call.service, call.endpoint, Buffer.from(call.request), {
        contentType: "application/json",
        raw: true,
        metadata: headerMetadata(req),
        ...(seconds > 0 ? { timeout: seconds * 1000 } : {}),
        ...(call.address ? { address: call.address } : {}),
      });
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": rsp.length });
      res.end(rsp);
    } catch (err) {
      writeError(res, fromError(err, ID), ID);
    }
  };
}

/** The JSON form (keys in any case) or form fields; `request` an object or JSON text. */
function parse(body: Buffer, contentType: string): RpcRequest {
  let fields: Record<string, unknown>;
  if (contentType.toLowerCase().startsWith("application/json")) {
    let value: unknown;
    try {
      value = JSON.parse(body.toString("utf8"));
    } catch (err) {
      throw new MicroError(ID, 400, `invalid JSON body: ${(err as Error).message}`);
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new MicroError(ID, 400, "the JSON body must be an object");
    fields = {};
    for (const [k, v] of Object.entries(value)) fields[k.toLowerCase()] = v;
  } else {
    fields = Object.fromEntries(new URLSearchParams(body.toString("utf8")));
  }
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  let request = fields.request;
  if (request === undefined || request === "") request = "{}";
  else if (typeof request !== "string") request = JSON.stringify(request);
  else {
    try {
      JSON.parse(request as string);
    } catch (err) {
      throw new MicroError(ID, 400, `invalid request: ${(err as Error).message}`);
    }
  }
  return {
    service: text(fields.service),
    endpoint: text(fields.endpoint) || text(fields.method),
    address: text(fields.address),
    request: request as string,
  };
}
