// JSON as Go's encoding/json writes it: Go escapes <, >, &, U+2028 and U+2029
// by default, so our bytes match a Go peer's (etcd values, mucp bodies).

const GO_ESCAPES_ALL = /[<>&\u2028\u2029]/g;
const escape = (c: string) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");

// Single-character searches run at memchr speed; a regex class scan is ~10x slower on long strings.
function needsGoEscapes(s: string): boolean {
  return s.indexOf("<") >= 0 || s.indexOf(">") >= 0 || s.indexOf("&") >= 0 || s.indexOf("\u2028") >= 0 || s.indexOf("\u2029") >= 0;
}

/** json.Marshal's text for value (no trailing newline; json.Encoder adds one). */
export function goJSON(value: unknown): string {
  const s = JSON.stringify(value === undefined ? null : value);
  return needsGoEscapes(s) ? s.replace(GO_ESCAPES_ALL, escape) : s;
}
