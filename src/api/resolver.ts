// Which service and method an HTTP request is for (reference §5.2): the
// resolvers micro (default), path, host, grpc and vpath. Pure functions.

export type ResolverName = "micro" | "path" | "host" | "grpc" | "vpath";
export const RESOLVERS: readonly ResolverName[] = ["micro", "path", "host", "grpc", "vpath"];

/** The handlers that call a method (the rest proxy HTTP to a service). */
export const RPC_HANDLERS = new Set(["meta", "api", "rpc", "event"]);

export interface Resolved {
  /** The full service name, namespace included. */
  service: string;
  /** "Say.Hello" for RPC handlers; the HTTP method for proxies and path-like resolvers. */
  method: string;
}

export interface ResolveInput {
  method: string;
  path: string;
  host: string;
}

/** path.Clean for URL paths: no empty, "." or ".." segments; always absolute. */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return "/" + out.join("/");
}

const VERSION = /^v[0-9]+$/;
const ALIAS = /^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$/;

/** "baz-xyz" → "BazXyz", "fooBar" → "FooBar". */
function title(segment: string): string {
  return segment.split("-").map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
}

const join = (namespace: string, name: string) => (namespace ? `${namespace}.${name}` : name);

/** /greeter/say/hello → greeter, Say.Hello (and the other shapes of §5.2). */
export function apiRoute(path: string): { service: string; method: string } | undefined {
  const parts = cleanPath(path).split("/").slice(1).filter(Boolean);
  const n = parts.length;
  if (n === 0) return undefined;
  if (n === 1) return { service: parts[0]!, method: `${title(parts[0]!)}.Call` };
  if (n === 2) return { service: parts[0]!, method: `${title(parts[0]!)}.${title(parts[1]!)}` };
  if (n === 3 && VERSION.test(parts[0]!)) return { service: `${parts[0]}.${parts[1]}`, method: `${title(parts[1]!)}.${title(parts[2]!)}` };
  return { service: parts.slice(0, -2).join("."), method: `${title(parts[n - 2]!)}.${title(parts[n - 1]!)}` };
}

/** /foo/… → foo, /v1/foo/… → v1.foo: for the proxying handlers. */
export function proxyRoute(path: string): string | undefined {
  const parts = cleanPath(path).split("/").slice(1).filter(Boolean);
  if (parts.length === 0) return undefined;
  const [first, second] = parts;
  if (VERSION.test(first!) && second !== undefined) return ALIAS.test(second) ? `${first}.${second}` : undefined;
  return ALIAS.test(first!) ? first : undefined;
}

/** Resolves a request with the named resolver; undefined when it names no service. */
export function resolve(resolver: ResolverName, handler: string, req: ResolveInput, namespace: string): Resolved | undefined {
  switch (resolver) {
    case "micro": {
      if (RPC_HANDLERS.has(handler)) {
        const r = apiRoute(req.path);
        return r && { service: join(namespace, r.service), method: r.method };
      }
      const name = proxyRoute(req.path);
      return name === undefined ? undefined : { service: join(namespace, name), method: req.method };
    }
    case "path": {
      const first = cleanPath(req.path).split("/")[1];
      return first ? { service: join(namespace, first), method: req.method } : undefined;
    }
    case "vpath": {
      const parts = cleanPath(req.path).split("/").slice(1).filter(Boolean);
      if (parts.length === 0) return undefined;
      const name = VERSION.test(parts[0]!) && parts.length > 1 ? `${parts[0]}.${parts[1]}` : parts[0]!;
      return { service: join(namespace, name), method: req.method };
    }
    case "host":
      return req.host ? { service: req.host, method: req.method } : undefined;
    case "grpc": {
      // /pkg.Svc/Method → service pkg, method Svc.Method
      const [, first, method] = cleanPath(req.path).split("/");
      if (!first || !method) return undefined;
      const dot = first.lastIndexOf(".");
      if (dot <= 0) return undefined;
      return { service: first.slice(0, dot), method: `${first.slice(dot + 1)}.${method}` };
    }
  }
}
