// The Content-Type table. Upstream matches the header exactly; we also accept
// parameters ("application/json; charset=utf-8") since browsers and curl add them.
import type { Codec } from "./codec.js";
import { jsonCodec } from "./json.js";
import { bytesCodec } from "./bytes.js";

export { type Codec, CodecError } from "./codec.js";
export { jsonCodec } from "./json.js";
export { bytesCodec } from "./bytes.js";

export type CodecTable = ReadonlyMap<string, Codec>;

export function defaultCodecs(): Map<string, Codec> {
  return new Map<string, Codec>([
    [jsonCodec.contentType, jsonCodec],
    [bytesCodec.contentType, bytesCodec],
  ]);
}

export function codecFor(table: CodecTable, contentType: string): Codec | undefined {
  const exact = table.get(contentType);
  if (exact) return exact;
  const semi = contentType.indexOf(";");
  return semi < 0 ? undefined : table.get(contentType.slice(0, semi).trim().toLowerCase());
}
