// Output formats of upstream's micro CLI (reference §7.3). How a registry
// service prints lives in registry/format.ts, shared with micro web.
export { camelToSnake, formatService, formatShape, formatMetadata } from "../registry/format.js";

/**
 * Go's json.Indent(dst, src, "", indent): re-indents JSON text without
 * re-encoding it, so numbers and key order stay exactly as the service sent them.
 */
export function indentJSON(text: string, indent = "\t"): string {
  let out = "";
  let depth = 0;
  let inString = false;
  let needIndent = false; // an opening bracket waits to see if it is empty
  const newline = () => "\n" + indent.repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
      continue;
    }
    if (c === " " || c === "\t" || c === "\n" || c === "\r") continue;
    if (needIndent && c !== "]" && c !== "}") {
      needIndent = false;
      depth++;
      out += newline();
    }
    switch (c) {
      case '"':
        inString = true;
        out += c;
        break;
      case "{":
      case "[":
        out += c;
        needIndent = true;
        break;
      case "}":
      case "]":
        if (needIndent) needIndent = false; // empty: {} or []
        else {
          depth--;
          out += newline();
        }
        out += c;
        break;
      case ",":
        out += "," + newline();
        break;
      case ":":
        out += ": ";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/** Go's time.Duration.String for a count of nanoseconds. */
export function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  const neg = ns < 0;
  let n = Math.abs(ns);
  let s: string;
  if (n < 1e3) s = `${n}ns`;
  else if (n < 1e6) s = `${trim(n / 1e3)}µs`;
  else if (n < 1e9) s = `${trim(n / 1e6)}ms`;
  else {
    const h = Math.floor(n / 3.6e12);
    n -= h * 3.6e12;
    const m = Math.floor(n / 6e10);
    n -= m * 6e10;
    const sec = trim(n / 1e9);
    s = h > 0 ? `${h}h${m}m${sec}s` : m > 0 ? `${m}m${sec}s` : `${sec}s`;
  }
  return neg ? "-" + s : s;
}

function trim(x: number): string {
  return String(Number(x.toFixed(9)));
}

/** Go's time.Format("Jan 2 15:04:05") in local time. */
export function goStamp(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const month = d.toLocaleString("en-US", { month: "short" });
  const p = (n: number) => String(n).padStart(2, "0");
  return `${month} ${d.getDate()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
