// The rpc handler (reference §5.4): the request's query, path fields and body
// become the call's request; JSON bodies are merged over the fields, protobuf
// bodies pass through as bytes; the service's answer is the response body.
import type { IncomingMessage, ServerResponse } from "node:http";
import { MicroError, fromError } from "../../errors/errors.js";
import { readBody } from "../../http/body.js";
import { writeError } from "../../http/errors.js";
import { headerMetadata } from "../../http/metadata.js";
import { mergePatch, queryToObject, type JSONValue } from "../qson.js";
import { API_ID, type HandlerContext, type Target } from "./context.js";

const PROTO_TYPES = new Set(["application/protobuf", "application/proto", "application/grpc", "application/grpc+proto", "application/proto-rpc", "application/octet-stream"]);
const WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function rpcHandler(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, target: Target): Promise<void> {
  try {
    const declared = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    const proto = PROTO_TYPES.has(declared);
    const body = WITH_BODY.has(req.method ?? "") ? await readBody(req, { maxBytes: ctx.maxBodyBytes, timeoutMs: ctx.bodyTimeoutMs, id: API_ID }) : Buffer.alloc(0);
    let payload: Buffer;
    if (proto) {
      payload = body;
    } else {
      const query = req.url?.includes("?") ? req.url.slice(req.url.indexOf("?") + 1) : "";
      let fields: JSONValue = { ...queryToObject(query), ...target.fields };
      if (body.length > 0) {
        let patch: JSONValue;
        try {
          patch = JSON.parse(body.toString("utf8")) as JSONValue;
        } catch (err) {
          throw new MicroError(API_ID, 400, `invalid JSON body: ${(err as Error).message}`);
        }
        fields = mergePatch(fields, patch);
      }
      payload = Buffer.from(JSON.stringify(fields));
    }
    const contentType = proto ? declared : "application/json";
    const rsp = await ctx.client.call<Buffer>(target.service, target.method, payload, { contentType, raw: true, metadata: headerMetadata(req) });
    if (rsp.length === 0) {
      res.writeHead(204);
      res.end();
      return;
    }
    res.writeHead(200, { "Content-Type": contentType, "Content-Length": rsp.length });
    res.end(rsp);
  } catch (err) {
    writeError(res, fromError(err, API_ID), API_ID);
  }
}
