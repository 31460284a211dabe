// micro api's request path (reference §5): CORS, then /, /favicon.ico and
// /rpc, then a custom route from endpoint metadata, then the resolver; the
// handler (meta picks the route's own) turns the request into a call or a
// proxied request. Calls are buffered exchanges (plan() hands them to the
// lean front, handle() serves them on node:http the same way); proxied
// requests stream through node:http. Every failure is a go-micro error JSON
// with its status.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Client } from "../client/client.js";
import type { CacheRegistry } from "../registry/cache.js";
import type { Node, Service } from "../registry/registry.js";
import { MicroError, fromError } from "../errors/errors.js";
import { cors, corsHeaders } from "../http/cors.js";
import { errorAnswer, jsonAnswer, serveBuffered, type BufferedHandler, type HttpAnswer, type HttpRequest } from "../http/exchange.js";
import { writeError } from "../http/errors.js";
import { accessLine, logWhenDone } from "../http/accesslog.js";
import { rpcHandler } from "../http/rpc.js";
import { proxyRequest, proxyUpgrade } from "../http/proxy.js";
import { Router } from "./router.js";
import { cleanPath, resolve, type ResolverName } from "./resolver.js";
import { rpcHandler as rpcRoute } from "./handlers/rpc.js";
import { apiHandler } from "./handlers/api.js";
import { API_ID, type HandlerContext, type Target } from "./handlers/context.js";

export const HANDLERS = ["meta", "api", "rpc", "http", "proxy", "web", "event"] as const;
export type HandlerName = (typeof HANDLERS)[number];

export interface GatewayOptions {
  client: Client;
  /** The watched cache the client uses: routes and node picks come from it. */
  cache: CacheRegistry;
  /** Default go.micro.api. */
  namespace?: string;
  /** Default meta: each route's own handler, rpc when it names none. */
  handler?: HandlerName;
  resolver?: ResolverName;
  /** /rpc; off by default, as upstream. */
  enableRpc?: boolean;
  /** Service-name prefixes /rpc may reach; empty: all. */
  rpcAllow?: readonly string[];
  /** On by default, as upstream since v2.3. */
  enableCors?: boolean;
  /** Request body limit in bytes; default 10 MiB. */
  maxBodyBytes?: number;
  /** ms to receive a request body; default 30 s. */
  bodyTimeoutMs?: number;
  /** ms a proxied backend may take; default 30 s. */
  proxyTimeoutMs?: number;
  /** What GET / answers. */
  version?: string;
  /** One line per request (Apache combined format); default none. */
  accessLog?: (line: string) => void;
}

interface Found {
  target: Target;
  handler: string;
  /** How a call route answers a buffered request; undefined for the proxy handlers, which stream. */
  answer: BufferedHandler | undefined;
}

type Routed = Found | "version" | "favicon" | "rpc" | undefined;

const EMPTY_200: HttpAnswer = { status: 200, headers: [], body: "" };
const PROXIED = new Set(["http", "proxy", "web"]);

export class Gateway {
  readonly router: Router;
  readonly #o: Required<Omit<GatewayOptions, "accessLog" | "rpcAllow">> & Pick<GatewayOptions, "accessLog" | "rpcAllow">;
  readonly #ctx: HandlerContext;
  readonly #rpc: BufferedHandler;
  readonly #routes = new Map<string, Routed>();
  #routesVersion = -1;
  /** What the fixed answers and unknown paths get. */
  readonly #fixed: Record<"version" | "favicon" | "rpc" | "none" | "preflight", BufferedHandler>;
  /** The body limits the gateway holds requests to (the lean front's and node:http's alike). */
  readonly limits: { readonly maxBytes: number; readonly timeoutMs: number; readonly id: string };

  constructor(options: GatewayOptions) {
    this.#o = {
      namespace: "go.micro.api",
      handler: "meta",
      resolver: "micro",
      enableRpc: false,
      enableCors: true,
      maxBodyBytes: 10 << 20,
      bodyTimeoutMs: 30_000,
      proxyTimeoutMs: 30_000,
      version: "",
      ...options,
    };
    this.#ctx = { client: options.client };
    this.#rpc = rpcHandler({ client: options.client, allow: options.rpcAllow });
    const version = jsonAnswer(200, { version: this.#o.version });
    const notFound = errorAnswer(new MicroError(API_ID, 404, "not found"), API_ID);
    this.#fixed = {
      version: () => version,
      favicon: () => EMPTY_200,
      rpc: this.#rpc,
      none: () => notFound,
      preflight: () => EMPTY_200, // the CORS headers are on every answer
    };
    this.limits = { maxBytes: this.#o.maxBodyBytes, timeoutMs: this.#o.bodyTimeoutMs, id: API_ID };
    this.router = new Router(options.cache, { logger: { warn: (m) => process.stderr.write(`${m}\n`) } });
  }

  start(): Promise<void> {
    return this.router.start();
  }

  close(): void {
    this.router.close();
  }

  /**
   * The lean front's question for each request head: the handler that answers
   * it from the buffered request, or undefined when it must stream through
   * node:http (the http, proxy and web handlers).
   */
  plan(method: string, url: string, host: string): BufferedHandler | undefined {
    const p = this.#plan(method, url, host);
    return typeof p === "function" ? p : undefined;
  }

  /** A request's buffered handler, or the proxied route it streams to. */
  #plan(method: string, url: string, host: string): BufferedHandler | Found {
    if (this.#o.enableCors && method === "OPTIONS") return this.#fixed.preflight;
    let found: Routed;
    try {
      found = this.#cachedFind(method, host, url);
    } catch (err) {
      return () => errorAnswer(err, API_ID);
    }
    if (found === undefined) return this.#fixed.none;
    if (typeof found === "string") return this.#fixed[found];
    return found.answer ?? found;
  }

  /** The headers every answer carries: CORS, when on. */
  headersFor(origin: string | undefined): string[] | undefined {
    return this.#o.enableCors ? corsHeaders(origin) : undefined;
  }

  /** An answer was written by the lean front: the access log line. */
  answered(req: HttpRequest, status: number, size: number): void {
    this.#o.accessLog?.(
      accessLine({ remoteAddress: req.remoteAddress, method: req.method, url: req.url, httpVersion: req.httpVersion, status, size, referer: req.headers.referer, userAgent: req.headers["user-agent"] }),
    );
  }

  /** The node:http request handler: mount it on any http(s) server. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.#o.accessLog) logWhenDone(req, res, this.#o.accessLog);
    this.#handle(req, res).catch((err: unknown) => writeError(res, fromError(err, API_ID), API_ID));
  };

  /** WebSocket upgrades: proxied for the web handler, refused otherwise. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", () => {});
    this.#upgrade(req, socket, head).catch(() => refuse(socket, 502));
  };

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    if (this.#o.enableCors) cors(req, res, false);
    const planned = this.#plan(method, url, req.headers.host ?? "");
    if (typeof planned === "function") return serveBuffered(req, res, this.limits, planned);
    // A proxied route: it streams.
    const found = planned;
    const services = await this.#services(found.target.service);
    if (services.length === 0) throw new MicroError(API_ID, 404, `service not found: ${found.target.service}`);
    await proxyRequest(req, res, { address: pickNode(services).address, path: url }, { timeoutMs: this.#o.proxyTimeoutMs, id: API_ID });
  }

  /** A call route's answer: the service must have nodes, then its handler. */
  async #call(target: Target, handler: string, req: HttpRequest): Promise<HttpAnswer> {
    if ((await this.#services(target.service)).length === 0) return errorAnswer(new MicroError(API_ID, 404, `service not found: ${target.service}`), API_ID);
    if (handler === "rpc") return rpcRoute(this.#ctx, req, target);
    if (handler === "api") return apiHandler(this.#ctx, req, target);
    if (handler === "event") return errorAnswer(new MicroError(API_ID, 501, "the event handler needs a broker, which micro-ts does not have yet"), API_ID);
    return errorAnswer(new MicroError(API_ID, 500, `unknown handler ${JSON.stringify(handler)}`), API_ID);
  }

  /**
   * #find for this method, host and path, remembered: routing a path costs
   * more than the rest of the gateway's own work. Forgotten when the route
   * table changes, and all at once past 4096 paths.
   */
  #cachedFind(method: string, host: string, url: string): Routed {
    const q = url.indexOf("?");
    const key = `${method} ${host} ${q < 0 ? url : url.slice(0, q)}`;
    if (this.#routesVersion !== this.router.version || this.#routes.size >= 4096) {
      this.#routes.clear();
      this.#routesVersion = this.router.version;
    }
    let found = this.#routes.get(key);
    if (found !== undefined || this.#routes.has(key)) return found;
    const path = checkedPath(url); // throws 400s, which are not remembered
    if (path === "/" && (method === "GET" || method === "HEAD")) found = "version";
    else if (path === "/favicon.ico") found = "favicon";
    else if (path === "/rpc" && this.#o.enableRpc) found = "rpc";
    else found = this.#find(method, host, path);
    this.#routes.set(key, found);
    return found;
  }

  /** Where a request goes: a custom route first, then the resolver; the handler meta means the route's own (rpc by default). */
  #find(method: string, host: string, path: string): Found | undefined {
    const custom = this.router.match(method, path, host);
    if (custom) {
      const h = this.#o.handler === "meta" ? custom.route.endpoint.handler : this.#o.handler;
      return this.#found({ service: custom.route.service, method: custom.route.endpoint.name, fields: custom.fields }, h);
    }
    const resolved = resolve(this.#o.resolver, this.#o.handler, { method, path, host }, this.#o.namespace);
    if (!resolved) return undefined;
    return this.#found({ ...resolved, fields: {} }, this.#o.handler === "meta" ? "rpc" : this.#o.handler);
  }

  #found(target: Target, handler: string): Found {
    const answer = PROXIED.has(handler) ? undefined : (req: HttpRequest) => this.#call(target, handler, req);
    return { target, handler, answer };
  }

  async #services(name: string): Promise<readonly Service[]> {
    return this.#o.cache.cached(name) ?? (await this.#o.cache.getService(name));
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let path: string;
    try {
      path = checkedPath(req.url ?? "/");
    } catch {
      return refuse(socket, 400);
    }
    const found = this.#find(req.method ?? "GET", req.headers.host ?? "", path);
    if (!found || found.handler !== "web") return refuse(socket, 404);
    const services = await this.#services(found.target.service);
    if (services.length === 0) return refuse(socket, 404);
    await proxyUpgrade(req, socket, head, { address: pickNode(services).address, path: req.url ?? "/" }, { timeoutMs: this.#o.proxyTimeoutMs, id: API_ID });
  }
}

function pickNode(services: readonly Service[]): Node {
  const nodes = services.flatMap((s) => s.nodes ?? []);
  if (nodes.length === 0) throw new MicroError(API_ID, 404, "no nodes");
  return nodes[Math.floor(Math.random() * nodes.length)]!;
}

/** The decoded path, refusing "." and ".." segments (also %2e-encoded): proxied backends get the path as sent, so it must be clean. */
function checkedPath(url: string): string {
  let path: string;
  try {
    path = decodeURIComponent(url.split("?")[0]!);
  } catch {
    throw new MicroError(API_ID, 400, "malformed path encoding");
  }
  if (path.split(/[/\\]/).some((s) => s === "." || s === "..")) throw new MicroError(API_ID, 400, "path traversal is not allowed");
  if (path.includes("\0")) throw new MicroError(API_ID, 400, "malformed path");
  return cleanPath(path);
}

function refuse(socket: Duplex, status: number): void {
  if (!socket.destroyed) socket.end(`HTTP/1.1 ${status} ${status === 404 ? "Not Found" : "Bad Gateway"}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

