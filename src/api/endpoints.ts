// Custom routes from registry endpoint metadata (reference §5.3): a service
// says "serve my Endpoint X at GET /greeter/{name}" with the metadata keys
// endpoint, description, handler, method, path, host (lists joined with ",").

export interface ApiEndpoint {
  name: string;
  description: string;
  handler: string;
  method: string[];
  path: string[];
  host: string[];
}

/**
 * The endpoint metadata that gives a handler a custom route (upstream's
 * api.Encode): use it as an endpoint's `metadata` in service.handle options.
 */
export function apiEndpoint(e: { name: string; handler: string; method?: string[]; path?: string[]; host?: string[]; description?: string }): Record<string, string> {
  const md: Record<string, string> = { endpoint: e.name, handler: e.handler };
  if (e.description) md.description = e.description;
  if (e.method?.length) md.method = e.method.join(",");
  if (e.path?.length) md.path = e.path.join(",");
  if (e.host?.length) md.host = e.host.join(",");
  return md;
}

const list = (v: string | undefined) => (v ? v.split(",").map((s) => s.trim()).filter(Boolean) : []);

/** The custom route an endpoint's metadata describes, or undefined when it has none. */
export function decodeEndpoint(md: Record<string, string> | null | undefined): ApiEndpoint | undefined {
  if (!md || !md.endpoint) return undefined;
  return { name: md.endpoint, description: md.description ?? "", handler: md.handler ?? "", method: list(md.method), path: list(md.path), host: list(md.host) };
}

/** What makes an endpoint unusable (upstream's Validate), or undefined. */
export function invalidEndpoint(e: ApiEndpoint): string | undefined {
  if (!e.name) return "name required";
  if (!e.handler) return "invalid handler";
  for (const p of e.path) {
    if (p.startsWith("^") !== p.endsWith("$")) return `invalid path ${JSON.stringify(p)}: a regex starts with ^ and ends with $`;
    if (p.startsWith("^")) {
      try {
        new RegExp(p);
      } catch (err) {
        return `invalid path ${JSON.stringify(p)}: ${(err as Error).message}`;
      }
    }
  }
  return undefined;
}

/** Matches a path and gives its captured fields, or undefined. */
export type PathMatcher = (path: string) => Record<string, string> | undefined;

/**
 * A google.api-style template (/greeter/{name}, /files/{path=**}, /a/*) or a
 * ^…$ regular expression (its named groups become fields).
 */
export function compilePath(pattern: string): PathMatcher {
  if (pattern.startsWith("^")) {
    const re = new RegExp(pattern);
    return (path) => {
      const m = re.exec(path);
      return m ? { ...(m.groups ?? {}) } : undefined;
    };
  }
  const segments = pattern.split("/").filter(Boolean);
  return (path) => {
    const parts = path.split("/").filter(Boolean);
    const fields: Record<string, string> = {};
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const field = /^\{([^}=]+)(?:=([^}]*))?\}$/.exec(seg);
      const rest = seg === "**" || field?.[2] === "**";
      if (rest) {
        if (i !== segments.length - 1) return undefined; // ** only at the end
        if (field) fields[field[1]!] = parts.slice(i).map(decode).join("/");
        return fields;
      }
      const part = parts[i];
      if (part === undefined) return undefined;
      if (field) fields[field[1]!] = decode(part);
      else if (seg !== "*" && seg !== part) return undefined;
    }
    return parts.length === segments.length ? fields : undefined;
  };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Host patterns: none, "" or "*" match any host; others are regexes on the Host header. */
export function compileHosts(hosts: readonly string[]): (host: string) => boolean {
  const patterns = hosts.filter((h) => h !== "" && h !== "*");
  if (patterns.length === 0 || patterns.length < hosts.length) return () => true;
  const res = patterns.map((h) => new RegExp(h));
  return (host) => res.some((re) => re.test(host));
}
