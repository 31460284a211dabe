// Where a micro web request goes (reference §6, upstream's
// internal/resolver/web): the dashboard's own routes, or a web service
// `<namespace>.<name>` found from the path (`/<name>/rest`, prefix stripped)
// or, with the subdomain/domain resolvers, from the Host.
import { isIP } from "node:net";
import { MicroError } from "../errors/errors.js";

export const WEB_RESOLVERS = ["path", "subdomain", "domain"] as const;
export type WebResolverName = (typeof WEB_RESOLVERS)[number];

export const WEB_ID = "go.micro.web";
/** Upstream's alias rule for the first path segment. */
export const NAME_RE = /^[a-zA-Z0-9]+([a-zA-Z0-9-]*[a-zA-Z0-9]*)?$/;
const DEFAULT_NAMESPACE = "go.micro";

/**
 * The web namespace from --namespace / MICRO_WEB_NAMESPACE, as upstream's
 * `micro web`: a trailing ".web" is trimmed and ".web" appended, so
 * "com.example.web" and "com.example" both mean com.example.web. "domain"
 * means "from the request's Host" (see namespaceFor).
 */
export function webNamespace(flag: string | undefined): string {
  const ns = (flag ?? "").trim();
  if (ns === "") return `${DEFAULT_NAMESPACE}.web`;
  if (ns === "domain") return "domain";
  return `${ns.replace(/\.web$/, "")}.web`;
}

/** The host name of a Host header, without port or IPv6 brackets, lower-cased. */
export function hostName(host: string | undefined): string {
  let h = (host ?? "").trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  const colon = h.lastIndexOf(":");
  if (colon >= 0 && h.indexOf(":") === colon) h = h.slice(0, colon);
  return h;
}

/**
 * The registrable domain (example.com of a.b.example.com). Upstream uses the
 * public suffix list; we take the last two labels, which is wrong for suffixes
 * such as co.uk (there: a subdomain is needed to route by subdomain).
 */
function domainOf(host: string): string {
  return host.split(".").slice(-2).join(".");
}

/** Hosts that always get the dashboard and path routing: IPs, localhost, a bare domain. */
function isDashboardHost(host: string): boolean {
  if (host === "" || host === "localhost" || isIP(host) !== 0) return true;
  return host.split(".").length <= 2;
}

/** namespace "domain": the reversed subdomain (`foo.bar.example.com` → bar.foo) + ".web"; go.micro.web for IPs, localhost and bare domains. */
export function namespaceFor(namespace: string, host: string): string {
  if (namespace !== "domain") return namespace;
  const h = hostName(host);
  if (isDashboardHost(h) || domainOf(h) === "micro.mu") return `${DEFAULT_NAMESPACE}.web`;
  const sub = h.slice(0, -(domainOf(h).length + 1));
  return `${sub.split(".").reverse().join(".")}.web`;
}

export interface WebRoute {
  /** The registry name to pick a node of, e.g. go.micro.web.greeter. */
  service: string;
  /** The path and query the web service gets. */
  path: string;
  /** X-Micro-Web-Base-Path: the prefix that was stripped ("" when none). */
  basePath: string;
  /** What the user named, for messages and redirects: the path alias. */
  alias: string;
  /** The request named the alias without a trailing slash ("/greeter"). */
  bare: boolean;
}

export type Resolution =
  | { kind: "dashboard"; path: string }
  /** Candidates in order: the first that exists in the registry wins. */
  | { kind: "proxy"; candidates: WebRoute[] }
  | { kind: "none"; path: string };

/** The dashboard's own paths; everything else is a web service's. */
const DASHBOARD = new Set(["/", "/client", "/services", "/rpc", "/favicon.ico"]);

function isDashboardPath(path: string): boolean {
  return DASHBOARD.has(path) || /^\/service\/[^/]+$/.test(path) || path.startsWith("/_/");
}

/**
 * The request target split into raw path and query, with dot segments
 * (also %2e-encoded, or hidden behind an encoded slash), NUL bytes and
 * malformed escapes refused: web services get the path as sent, so it must
 * not climb out of their tree. Repeated slashes are collapsed.
 */
export function checkedTarget(url: string): { rawPath: string; query: string; path: string } {
  let target = url || "/";
  if (/^https?:\/\//i.test(target)) {
    // absolute-form (a client talking to us as to a proxy): take its path
    try {
      const u = new URL(target);
      target = u.pathname + u.search;
    } catch {
      throw new MicroError(WEB_ID, 400, "malformed request target");
    }
  }
  if (!target.startsWith("/")) throw new MicroError(WEB_ID, 400, "malformed request target");
  const q = target.indexOf("?");
  const rawPath = (q >= 0 ? target.slice(0, q) : target).replace(/\/{2,}/g, "/");
  const query = q >= 0 ? target.slice(q) : "";
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new MicroError(WEB_ID, 400, "malformed path encoding");
  }
  if (path.includes("\0")) throw new MicroError(WEB_ID, 400, "malformed path");
  if (path.split(/[/\\]/).some((s) => s === "." || s === "..")) {
    throw new MicroError(WEB_ID, 400, "path traversal is not allowed: the path has . or .. segments");
  }
  return { rawPath, query, path };
}

function byPath(namespace: string, rawPath: string, query: string): WebRoute | undefined {
  const slash = rawPath.indexOf("/", 1);
  const alias = slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash);
  if (!NAME_RE.test(alias)) return undefined;
  const rest = slash < 0 ? "/" : rawPath.slice(slash);
  return { service: `${namespace}.${alias}`, path: rest + query, basePath: `/${alias}`, alias, bare: slash < 0 };
}

/** Where one request goes. Throws a 400 MicroError for a path it will not route. */
export function resolveWeb(resolver: WebResolverName, namespaceSetting: string, url: string, host: string | undefined): Resolution {
  const { rawPath, query, path } = checkedTarget(url);
  const namespace = namespaceFor(namespaceSetting, host ?? "");
  const h = hostName(host);
  // As upstream: the path resolver, a namespace other than the default, and
  // dashboard hosts (IPs, localhost, bare domains, web.micro.mu) route by path.
  if (resolver === "path" || namespace !== `${DEFAULT_NAMESPACE}.web` || isDashboardHost(h) || isNamespaceHost(h, namespace)) {
    if (isDashboardPath(path)) return { kind: "dashboard", path };
    const route = byPath(namespace, rawPath, query);
    return route ? { kind: "proxy", candidates: [route] } : { kind: "none", path };
  }
  // Subdomain routing. foo.micro.mu/… → go.micro.web.foo (subdomain resolver only: every path).
  const alias = h.slice(0, -(domainOf(h).length + 1)).split(".").reverse().join(".");
  if (resolver === "subdomain" && domainOf(h) === "micro.mu") {
    return { kind: "proxy", candidates: [{ service: `${namespace}.${alias}`, path: rawPath + query, basePath: "", alias, bare: false }] };
  }
  // Other hosts: the dashboard keeps its paths; foo.example.com/bar/… → foo.web.bar (path unchanged), else by path.
  if (isDashboardPath(path)) return { kind: "dashboard", path };
  const byAlias = byPath(namespace, rawPath, query);
  const first = rawPath.split("/")[1] ?? "";
  const candidates: WebRoute[] = [];
  if (first !== "" && NAME_RE.test(first)) {
    candidates.push({ service: `${alias}.web.${first}`, path: rawPath + query, basePath: "", alias: first, bare: false });
  }
  if (byAlias) candidates.push(byAlias);
  return candidates.length > 0 ? { kind: "proxy", candidates } : { kind: "none", path };
}

/** web.micro.go style hosts: the reversed host is the namespace (mu.micro → go.micro). */
function isNamespaceHost(host: string, namespace: string): boolean {
  let reversed = host.split(".").reverse().join(".");
  if (reversed.startsWith("mu.micro")) reversed = reversed.replace("mu.micro", "go.micro");
  return reversed === namespace;
}
