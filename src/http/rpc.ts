// /rpc (reference §5.4): call any service and endpoint named in the request,
// from a JSON body or form fields, as `micro api --enable_rpc` and `micro web`
// serve it. An allow-list of service-name prefixes may bound what it reaches.
import type { Client } from "../client/client.js";
import { MicroError } from "../errors/errors.js";
import { errorAnswer, type BufferedHandler } from "./exchange.js";
import { headerMetadata } from "./metadata.js";

export const RPC_ID = "go.micro.rpc";

export interface RpcOptions {
  client: Client;
  /** Service-name prefixes /rpc may call; empty or absent: every service, as upstream. */
  allow?: readonly string[];
}

interface RpcRequest {
  service: string;
  endpoint: string;
  address: string;
  /** The request as JSON text. */
  request: string;
}

export function rpcHandler(options: RpcOptions): BufferedHandler {
  const allow = (options.allow ?? []).filter(Boolean);
  return async (req) => {
    try {
      if (req.method !== "POST") throw new MicroError(RPC_ID, 405, `method ${req.method} not allowed: POST a service, an endpoint and a request`);
      const call = parse(req.body, req.headers["content-type"] ?? "");
      if (!call.service) throw new MicroError(RPC_ID, 400, "invalid service");
      if (!call.endpoint) throw new MicroError(RPC_ID, 400, "invalid endpoint");
      if (allow.length > 0 && !allow.some((p) => call.service.startsWith(p))) {
        throw new MicroError(RPC_ID, 403, `service ${call.service} is not reachable through /rpc`);
      }
      const seconds = Number(req.headers.timeout);
      const rsp = await options.client.call<Buffer>(call.service, call.endpoint, Buffer.from(call.request), {
        contentType: "application/json",
        raw: true,
        metadata: headerMetadata(req.rawHeaders),
        ...(seconds > 0 ? { timeout: seconds * 1000 } : {}),
        ...(call.address ? { address: call.address } : {}),
      });
      return { status: 200, headers: ["Content-Type", "application/json"], body: rsp };
    } catch (err) {
      return errorAnswer(err, RPC_ID);
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
      throw new MicroError(RPC_ID, 400, `invalid JSON body: ${(err as Error).message}`);
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new MicroError(RPC_ID, 400, "the JSON body must be an object");
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
      throw new MicroError(RPC_ID, 400, `invalid request: ${(err as Error).message}`);
    }
  }
  return {
    service: text(fields.service),
    endpoint: text(fields.endpoint) || text(fields.method),
    address: text(fields.address),
    request: request as string,
  };
}
