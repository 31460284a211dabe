import { type Codec, CodecError } from "./codec.js";
import { goJSON } from "../util/gojson.js";

/** application/json, written as Go's json.Encoder does (trailing newline). */
export const jsonCodec: Codec = {
  contentType: "application/json",
  marshal(value: unknown): Buffer {
    // Bytes are JSON that is already encoded (the CLI forwards text as typed).
    if (Buffer.isBuffer(value)) return value;
    const s = goJSON(value);
    // Written in place: `s + "\n"` would make V8 copy a long string once more to flatten it.
    const n = Buffer.byteLength(s);
    const out = Buffer.allocUnsafe(n + 1);
    out.write(s, 0, n, "utf8");
    out[n] = 10;
    return out;
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
