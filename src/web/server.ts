// micro web (reference §6): the reverse proxy to web services, /rpc, and the
// dashboard. WebServer is a request handler plus an upgrade handler, to mount
// on any http(s) server; startWeb listens with plain HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import type { Client } from "../client/client.js";
import type { CacheRegistry } from "../registry/cache.js";
import type { Node, Registry, Service } from "../registry/registry.js";
import { MicroError, fromError } from "../errors/errors.js";
import { cors } from "../http/cors.js";
import { writeError, writeJSON } from "../http/errors.js";
import { logWhenDone } from "../http/accesslog.js";
import { rpcHandler, RPC_ID } from "../http/rpc.js";
import { serveBuffered, type BufferedHandler } from "../http/exchange.js";
import type { BodyLimits } from "../http/body.js";
import { proxyRequest, proxyUpgrade, type ProxyTarget } from "../http/proxy.js";
import { splitHostPort, joinHostPort } from "../util/addr.js";
import type { Logger } from "../util/log.js";
import { WEB_ID, resolveWeb, webNamespace, namespaceFor, type WebResolverName, type WebRoute } from "./resolver.js";
import { RegistryEvents } from "./events.js";
import { allServices, oneService, overview, serviceView } from "./views.js";
import { asset, page, notFoundPage, type PageKind } from "./pages.js";

export interface WebServerOptions {
  /** Read for the dashboard (always fresh) and watched for its live feed. */
  registry: Registry;
  /** The watched cache proxied requests pick nodes from. */
  cache: CacheRegistry;
  /** Calls made through /rpc. */
  client: Client;
  /** --namespace as given (".web" is added as upstream does); default go.micro.web; "domain" derives it from Host. */
  namespace?: string;
  /** Default path. */
  resolver?: WebResolverName;
  /** ms a web service has to start answering a proxied request; default 30 s. */
  proxyTimeoutMs?: number;
  /** Service-name prefixes /rpc may call; empty or absent: every service, as upstream. */
  rpcAllow?: readonly string[];
  /** /rpc request body limit, bytes; default 10 MiB. */
  maxBodyBytes?: number;
  /** ms to receive a /rpc request body; default 30 s. */
  bodyTimeoutMs?: number;
  /** One line per request (Apache combined format, as upstream's server writes to stdout). */
  accessLog?: (line: string) => void;
  logger?: Logger;
  /** Shown in the dashboard's footer. */
  version?: string;
}

const HTML_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "same-origin",
  "Content-Security-Policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};

/** The request asks for JSON: Content-Type (upstream's test) or Accept says so. */
export function wantsJSON(req: IncomingMessage): boolean {
  const ct = String(req.headers["content-type"] ?? "").toLowerCase();
  const accept = String(req.headers.accept ?? "").toLowerCase();
  return ct.startsWith("application/json") || accept.includes("application/json");
}

/** A browser navigating (Accept has text/html and the request does not ask for JSON). */
function wantsHTML(req: IncomingMessage): boolean {
  return !wantsJSON(req) && String(req.headers.accept ?? "").toLowerCase().includes("text/html");
}

export class WebServer {
  readonly events: RegistryEvents;
  readonly namespace: string;
  readonly resolver: WebResolverName;
  readonly #o: WebServerOptions;
  readonly #rpc: BufferedHandler;
  readonly #rpcLimits: BodyLimits;
  readonly #timeoutMs: number;
  readonly #upgraded = new Set<Duplex>();

  constructor(options: WebServerOptions) {
    this.#o = options;
    this.namespace = webNamespace(options.namespace);
    this.resolver = options.resolver ?? "path";
    this.#timeoutMs = options.proxyTimeoutMs ?? 30_000;
    this.#rpc = rpcHandler({ client: options.client, allow: options.rpcAllow });
    this.#rpcLimits = { maxBytes: options.maxBodyBytes ?? 10 << 20, timeoutMs: options.bodyTimeoutMs ?? 30_000, id: RPC_ID };
    this.events = new RegistryEvents(options.registry, { logger: options.logger });
  }

  /** The request handler. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.#o.accessLog) logWhenDone(req, res, this.#o.accessLog);
    this.#route(req, res).catch((err: unknown) => this.#fail(req, res, fromError(err, WEB_ID)));
  };

  /** WebSocket (any upgrade) to a web service; anything else is refused. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", () => {});
    this.#upgraded.add(socket);
    socket.once("close", () => this.#upgraded.delete(socket));
    this.#upgrade(req, socket, head).catch((err: unknown) => refuse(socket, fromError(err, WEB_ID)));
  };

  /** Ends the live feeds and upgraded connections; the HTTP server is the caller's to close. */
  close(): void {
    this.events.close();
    for (const s of this.#upgraded) s.destroy();
    this.#upgraded.clear();
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const r = resolveWeb(this.resolver, this.namespace, req.url ?? "/", req.headers.host);
    if (r.kind === "dashboard") return this.#dashboard(req, res, r.path);
    if (r.kind === "none") throw new MicroError(WEB_ID, 404, `not found: ${r.path}`);
    const found = await this.#find(r.candidates);
    if (!found) throw new MicroError(WEB_ID, 404, `service ${r.candidates[r.candidates.length - 1]!.service}: not found`);
    const { route, services } = found;
    if (route.bare && (req.method === "GET" || req.method === "HEAD")) {
      // /greeter → /greeter/, so the app's relative links resolve under its prefix.
      const q = (req.url ?? "").indexOf("?");
      res.writeHead(301, { Location: `/${route.alias}/${q >= 0 ? (req.url ?? "").slice(q) : ""}`, "Content-Length": 0 });
      return void res.end();
    }
    const { target, next } = this.#targets(route, services);
    await proxyRequest(req, res, target, { timeoutMs: this.#timeoutMs, id: WEB_ID, next });
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const r = resolveWeb(this.resolver, this.namespace, req.url ?? "/", req.headers.host);
    if (r.kind !== "proxy") throw new MicroError(WEB_ID, 404, "not found: only web services take upgrades");
    const found = await this.#find(r.candidates);
    if (!found) throw new MicroError(WEB_ID, 404, `service ${r.candidates[r.candidates.length - 1]!.service}: not found`);
    const { target, next } = this.#targets(found.route, found.services);
    await proxyUpgrade(req, socket, head, target, { timeoutMs: this.#timeoutMs, id: WEB_ID, next });
  }

  /** The first candidate the registry has nodes for. */
  async #find(candidates: WebRoute[]): Promise<{ route: WebRoute; services: readonly Service[] } | undefined> {
    for (const route of candidates) {
      const cache = this.#o.cache;
      const services = cache.cached(route.service) ?? (await cache.getService(route.service));
      if (services.some((s) => (s.nodes?.length ?? 0) > 0)) return { route, services };
    }
    return undefined;
  }

  /** A node by the selector (random, skipping nodes that refused lately) and another to try if it refuses. */
  #targets(route: WebRoute, services: readonly Service[]): { target: ProxyTarget; next: (err: Error) => ProxyTarget | undefined } {
    const selector = this.#o.client.selector;
    const first = selector.pick(route.service, services);
    const headers = { "X-Micro-Web-Base-Path": route.basePath };
    const others = services.flatMap((s) => s.nodes ?? []).filter((n: Node) => n.id !== first.id);
    return {
      target: { address: first.address, path: route.path, headers },
      next: () => {
        selector.mark(first.id, false);
        if (others.length === 0) return undefined;
        const other = others[Math.floor(Math.random() * others.length)]!;
        return { address: other.address, path: route.path, headers };
      },
    };
  }

  async #dashboard(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === "/rpc") return this.#rpcRoute(req, res);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      throw new MicroError(WEB_ID, 405, `method ${req.method} not allowed on ${path}`);
    }
    const ns = namespaceFor(this.namespace, req.headers.host ?? "");
    if (path === "/favicon.ico") return this.#asset(req, res, "favicon.svg");
    if (path.startsWith("/_/")) return this.#internal(req, res, path.slice(3), ns);
    if (path === "/services" || path === "/client") {
      // upstream's JSON: {"services": [...]} for both
      if (wantsJSON(req)) return writeJSON(res, 200, { services: await allServices(this.#o.registry) });
      return this.#page(res, path === "/services" ? "services" : "client", overview(await allServices(this.#o.registry), ns));
    }
    if (path.startsWith("/service/")) {
      const name = path.slice("/service/".length); // resolveWeb decoded it
      const versions = await oneService(this.#o.registry, name);
      if (versions.length === 0) {
        if (wantsHTML(req)) return this.#notFound(res, `No service named ${name} is registered.`, ns);
        throw new MicroError(WEB_ID, 404, `service ${name}: not found`);
      }
      if (wantsJSON(req)) return writeJSON(res, 200, { services: versions });
      return this.#page(res, "service", serviceView(versions, ns));
    }
    // "/"
    const view = overview(await allServices(this.#o.registry), ns);
    if (wantsJSON(req)) return writeJSON(res, 200, view);
    return this.#page(res, "home", view);
  }

  async #internal(req: IncomingMessage, res: ServerResponse, rest: string, ns: string): Promise<void> {
    if (rest === "events") return this.events.subscribe(req, res);
    if (rest === "state") return writeJSON(res, 200, overview(await allServices(this.#o.registry), ns));
    if (rest.startsWith("state/service/")) {
      const name = rest.slice("state/service/".length);
      if (name === "" || name.includes("/") || name.includes("\\")) throw new MicroError(WEB_ID, 404, `not found: /_/${rest}`);
      const versions = await oneService(this.#o.registry, name);
      if (versions.length === 0) throw new MicroError(WEB_ID, 404, `service ${name}: not found`);
      return writeJSON(res, 200, serviceView(versions, ns));
    }
    if (rest === "app.js" || rest === "style.css") return this.#asset(req, res, rest);
    throw new MicroError(WEB_ID, 404, `not found: /_/${rest}`);
  }

  async #rpcRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === "OPTIONS") {
      cors(req, res); // upstream answers the preflight; the call itself carries no CORS headers
      return;
    }
    // A browser on another site may send (not read) a form POST here: refuse
    // calls whose Origin is not this host, so a page elsewhere cannot make a
    // visitor's browser call services. curl and this dashboard send no foreign Origin.
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, req.headers.host)) {
      req.resume();
      throw new MicroError(RPC_ID, 403, `calls from origin ${origin} are refused: /rpc takes calls from this host's pages only`);
    }
    return serveBuffered(req, res, this.#rpcLimits, this.#rpc);
  }

  #page(res: ServerResponse, kind: PageKind, state: unknown): void {
    const body = page(kind, state, { namespace: this.namespace, version: this.#o.version ?? "" });
    res.writeHead(200, { ...HTML_HEADERS, "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  }

  #notFound(res: ServerResponse, message: string, ns: string, webApps: { alias: string; link: string }[] = []): void {
    const body = notFoundPage(message, webApps, { namespace: ns, version: this.#o.version ?? "" });
    res.writeHead(404, { ...HTML_HEADERS, "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  }

  #asset(req: IncomingMessage, res: ServerResponse, name: string): void {
    const a = asset(name);
    if (!a) throw new MicroError(WEB_ID, 404, `not found: ${name}`);
    if (req.headers["if-none-match"] === a.etag) {
      res.writeHead(304, { ETag: a.etag, "Cache-Control": "no-cache" });
      return void res.end();
    }
    res.writeHead(200, {
      "Content-Type": a.type,
      "Content-Length": a.body.length,
      ETag: a.etag,
      "Cache-Control": "no-cache",
      "X-Content-Type-Options": "nosniff",
    });
    res.end(req.method === "HEAD" ? undefined : a.body);
  }

  /** Errors: JSON (upstream's shape, status = code), or a page for a browser that asked for one that is not there. */
  #fail(req: IncomingMessage, res: ServerResponse, err: MicroError): void {
    if (err.code === 404 && wantsHTML(req) && !res.headersSent && (req.method === "GET" || req.method === "HEAD")) {
      void this.#webApps(req).then(
        (apps) => this.#notFound(res, err.detail, namespaceFor(this.namespace, req.headers.host ?? ""), apps),
        () => this.#notFound(res, err.detail, this.namespace),
      );
      return;
    }
    req.resume();
    writeError(res, err, err.id || WEB_ID);
  }

  async #webApps(req: IncomingMessage): Promise<{ alias: string; link: string }[]> {
    return overview(await allServices(this.#o.registry), namespaceFor(this.namespace, req.headers.host ?? "")).webApps;
  }
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return new URL(origin).host.toLowerCase() === String(host ?? "").toLowerCase();
  } catch {
    return false; // "null" and garbage
  }
}

/** An upgrade we will not proxy: a status line with the error JSON, then close. */
function refuse(socket: Duplex, err: MicroError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(err);
  socket.end(`HTTP/1.1 ${err.code} ${err.status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 1_000).unref();
}


export interface RunningWeb {
  server: Server;
  web: WebServer;
  /** host:port it listens on. */
  address: string;
  close(): Promise<void>;
}

/** Listens on address (":8082", "127.0.0.1:0") with plain HTTP. */
export async function startWeb(options: WebServerOptions & { address: string }): Promise<RunningWeb> {
  const web = new WebServer(options);
  const { host, port } = splitHostPort(options.address);
  // requestTimeout bounds how long a request's headers and body may take to arrive (slowloris);
  // proxied answers and the live feed are not bounded by it.
  const server = createServer({ requestTimeout: 120_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, web.handle);
  server.on("upgrade", web.upgrade);
  server.on("clientError", (_err, socket: Socket) => {
    if (socket.writable && !socket.destroyed) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => reject(new Error(`micro web: cannot listen on ${options.address}: ${err.code ?? err.message}`)));
    server.listen(port, host || undefined, () => resolve());
  });
  const bound = server.address() as { address: string; port: number };
  return {
    server,
    web,
    address: joinHostPort(bound.address, bound.port),
    close: () =>
      new Promise<void>((resolve) => {
        web.close();
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      }),
  };
}
