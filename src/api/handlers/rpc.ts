// The rpc handler (reference §5.4): the request's query, path fields and body
// become the call's request; JSON bodies are merged over the fields, protobuf
// bodies pass through as bytes; the service's answer is the response body.
import { MicroError } from "../../errors/errors.js";
import { errorAnswer, type HttpAnswer, type HttpRequest } from "../../http/exchange.js";
import { headerMetadata } from "../../http/metadata.js";
import { mergePatch, queryToObject, type JSONValue } from "../qson.js";
import { API_ID, type HandlerContext, type Target } from "./context.js";

const PROTO_TYPES = new Set(["application/protobuf", "application/proto", "application/grpc", "application/grpc+proto", "application/proto-rpc", "application/octet-stream"]);
const WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function rpcHandler(ctx: HandlerContext, req: HttpRequest, target: Target): Promise<HttpAnswer> {
  try {
    const declared = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    const proto = PROTO_TYPES.has(declared);
    // A body on a GET is not part of the call, as upstream reads none there.
    const body = WITH_BODY.has(req.method) ? req.body : undefined;
    let payload: Buffer;
    if (proto) {
      payload = body ?? Buffer.alloc(0);
    } else {
      const q = req.url.indexOf("?");
      let fields: JSONValue = { ...queryToObject(q < 0 ? "" : req.url.slice(q + 1)), ...target.fields };
      if (body !== undefined && body.length > 0) {
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
    const rsp = await ctx.client.call<Buffer>(target.service, target.method, payload, { contentType, raw: true, metadata: headerMetadata(req.rawHeaders) });
    if (rsp.length === 0) return { status: 204, headers: [], body: "" };
    return { status: 200, headers: ["Content-Type", contentType], body: rsp };
  } catch (err) {
    return errorAnswer(err, API_ID);
  }
}
