import { type Codec, CodecError } from "./codec.js";

/** application/octet-stream: bytes pass through untouched. */
export const bytesCodec: Codec = {
  contentType: "application/octet-stream",
  marshal(value: unknown): Buffer {
    if (Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (typeof value === "string") return Buffer.from(value);
    if (value === undefined || value === null) return Buffer.alloc(0);
    throw new CodecError("application/octet-stream needs a Buffer, Uint8Array or string");
  },
  unmarshal(data: Buffer): unknown {
    return data;
  },
};
