import { type Codec, CodecError } from "./codec.js";

// Go's encoding/json escapes these by default; doing the same keeps our bytes
// identical to a Go peer's.
const GO_ESCAPES = /[<>&\u2028\u2029]/;
const GO_ESCAPES_ALL = /[<>&\u2028\u2029]/g;
const escape = (c: string) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");

/** application/json, written as Go's json.Encoder does (trailing newline). */
export const jsonCodec: Codec = {
  contentType: "application/json",
  marshal(value: unknown): Buffer {
    // Bytes are JSON that is already encoded (the CLI forwards text as typed).
    if (Buffer.isBuffer(value)) return value;
    let s = JSON.stringify(value === undefined ? null : value);
    if (GO_ESCAPES.test(s)) s = s.replace(GO_ESCAPES_ALL, escape);
    return Buffer.from(s + "\n");
  },
  unmarshal(data: Buffer): unknown {
    if (data.length === 0) return {};
    try {
      return JSON.parse(data.toString("utf8"));
    } catch (err) {
      throw new CodecError(`invalid JSON: ${(err as Error).message}`);
    }
  },
};
