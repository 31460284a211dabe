import { type Codec, CodecError } from "./codec.js";

// Go's encoding/json escapes <, >, &, U+2028 and U+2029 by default; doing the
// same keeps our bytes identical to a Go peer's. Single-character searches run
// at memchr speed; a regex class scan is ~10x slower on long strings.
function needsGoEscapes(s: string): boolean {
  return s.indexOf("<") >= 0 || s.indexOf(">") >= 0 || s.indexOf("&") >= 0 || s.indexOf("\u2028") >= 0 || s.indexOf("\u2029") >= 0;
}
const GO_ESCAPES_ALL = /[<>&\u2028\u2029]/g;
const escape = (c: string) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");

/** application/json, written as Go's json.Encoder does (trailing newline). */
export const jsonCodec: Codec = {
  contentType: "application/json",
  marshal(value: unknown): Buffer {
    // Bytes are JSON that is already encoded (the CLI forwards text as typed).
    if (Buffer.isBuffer(value)) return value;
    let s = JSON.stringify(value === undefined ? null : value);
    if (needsGoEscapes(s)) s = s.replace(GO_ESCAPES_ALL, escape);
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
