// How a registry service reads to a person: `micro get service`'s text, also
// shown by micro web's dashboard (reference §7.3).
import type { Service, Value } from "./registry.js";

/** snaker.CamelToSnake: "UserId" → "user_id", "HTTPServer" → "http_server"; snake stays snake. */
export function camelToSnake(name: string): string {
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    const isUpper = c >= "A" && c <= "Z";
    if (isUpper && i > 0) {
      const prev = name[i - 1]!;
      const next = name[i + 1];
      const prevLowerOrDigit = (prev >= "a" && prev <= "z") || (prev >= "0" && prev <= "9");
      const prevUpper = prev >= "A" && prev <= "Z";
      const nextLower = next !== undefined && next >= "a" && next <= "z";
      if (prev !== "_" && (prevLowerOrDigit || (prevUpper && nextLower))) out += "_";
    }
    out += c.toLowerCase();
  }
  return out;
}

function formatValue(v: Value, depth: number): string {
  const indent = "\t".repeat(depth + 1);
  if (!v.values || v.values.length === 0) return `${indent}${camelToSnake(v.name)} ${v.type}\n`;
  let s = `${indent}${camelToSnake(v.name)} ${v.type} {\n`;
  for (const child of v.values) s += formatValue(child, depth + 1);
  return `${s}${indent}}\n`;
}

/** A request or response shape as `micro get service` (and the dashboard) prints it. */
export function formatShape(v: Value | null): string {
  if (!v || !v.values || v.values.length === 0) return "{}";
  return `{\n${v.values.map((c) => formatValue(c, 0)).join("")}}`;
}

/** k=v,k=v — sorted, so the output is stable (upstream's map order is random). */
export function formatMetadata(md: Record<string, string> | null): string {
  return Object.keys(md ?? {}).sort().map((k) => `${k}=${md![k]}`).join(",");
}

/** `micro get service` */
export function formatService(versions: Service[]): string {
  const out: string[] = [`service  ${versions[0]!.name}`];
  for (const s of versions) {
    if (s.version) out.push(`\nversion ${s.version}`);
    out.push("\nID\tAddress\tMetadata");
    for (const n of s.nodes ?? []) out.push(`${n.id}\t${n.address}\t${formatMetadata(n.metadata)}`);
  }
  for (const e of versions[0]!.endpoints ?? []) {
    out.push(`\nEndpoint: ${e.name}\n`);
    const md = formatMetadata(e.metadata);
    if (md) out.push(`Metadata: ${md}\n`);
    out.push(`Request: ${formatShape(e.request)}\n\nResponse: ${formatShape(e.response)}\n`);
  }
  return out.join("\n");
}
