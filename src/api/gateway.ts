// micro api's request path (reference §5): CORS, then /, /favicon.ico and
// /rpc, then a custom route from endpoint metadata, then the resolver; the
// handler (meta picks the route's own) turns the request into a call or a
// proxied request. Every failure is a go-micro error JSON with its status.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Client } from "../client/client.js";
import type { CacheRegistry } from "../registry/cache.js";
import type { Node, Service } from "../registry/registry.js";
import { MicroError, fromError } from "../errors/errors.js";
import { cors } from "../http/cors.js";
import { writeError, writeJSON } from "../http/errors.js";
import { logWhenDone } from "../http/accesslog.js";
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
}

export class Gateway {
  readonly router: Router;
  readonly #o: Required<Omit<GatewayOptions, "accessLog" | "rpcAllow">> & Pick<GatewayOptions, "accessLog" | "rpcAllow">;
  readonly #ctx: HandlerContext;
  readonly #rpc: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  readonly #routes = new Map<string, Found | "version" | "favicon" | "rpc" | undefined>();
  #routesVersion = -1;

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
    this.#ctx = { client: options.client, maxBodyBytes: this.#o.maxBodyBytes, bodyTimeoutMs: this.#o.bodyTimeoutMs };
    this.#rpc = rpcHandler({ client: options.client, allow: options.rpcAllow, maxBodyBytes: this.#o.maxBodyBytes, bodyTimeoutMs: this.#o.bodyTimeoutMs });
    this.router = new Router(options.cache, { logger: { warn: (m) => process.stderr.write(`${m}\n`) } });
  }

  start(): Promise<void> {
    return this.router.start();
  }

  close(): void {
    this.router.close();
  }

  /** The request handler: mount it on any http(s) server. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.#o.accessLog) logWhenDone(req, res, this.#o.accessLog);
    this.#route(req, res).catch((err: unknown) => writeError(res, fromError(err, API_ID), API_ID));
  };

  /** WebSocket upgrades: proxied for the web handler, refused otherwise. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", () => {});
    this.#upgrade(req, socket, head).catch(() => refuse(socket, 502));
  };

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#o.enableCors && cors(req, res)) return;
    const url = req.url ?? "/";
    const found = this.#cachedFind(req, url);
    if (found === "version") return writeJSON(res, 200, { version: this.#o.version });
    if (found === "favicon") {
      res.writeHead(200, { "Content-Length": 0 });
      return void res.end();
    }
    if (found === "rpc") return this.#rpc(req, res);
    if (!found) throw new MicroError(API_ID, 404, "not found");
    const { target, handler } = found;
    const services = await this.#services(target.service);
    if (services.length === 0) throw new MicroError(API_ID, 404, `service not found: ${target.service}`);
    switch (handler) {
      case "rpc":
        return rpcRoute(this.#ctx, req, res, target);
      case "api":
        return apiHandler(this.#ctx, req, res, target);
      case "http":
      case "proxy":
      case "web":
        return proxyRequest(req, res, { address: pickNode(services).address, path: url }, { timeoutMs: this.#o.proxyTimeoutMs, id: API_ID });
      case "event":
        throw new MicroError(API_ID, 501, "the event handler needs a broker, which micro-ts does not have yet");
      default:
        throw new MicroError(API_ID, 500, `unknown handler ${JSON.stringify(handler)}`);
    }
  }

  /**
   * #find for this method, host and path, remembered: routing a path costs
   * more than the rest of the gateway's own work. Forgotten when the route
   * table changes, and all at once past 4096 paths.
   */
  #cachedFind(req: IncomingMessage, url: string): Found | "version" | "favicon" | "rpc" | undefined {
    const q = url.indexOf("?");
    const key = `${req.method} ${req.headers.host ?? ""} ${q < 0 ? url : url.slice(0, q)}`;
    if (this.#routesVersion !== this.router.version || this.#routes.size >= 4096) {
      this.#routes.clear();
      this.#routesVersion = this.router.version;
    }
    let found = this.#routes.get(key);
    if (found !== undefined || this.#routes.has(key)) return found;
    const path = checkedPath(url); // throws 400s, which are not remembered
    if (path === "/" && (req.method === "GET" || req.method === "HEAD")) found = "version";
    else if (path === "/favicon.ico") found = "favicon";
    else if (path === "/rpc" && this.#o.enableRpc) found = "rpc";
    else found = this.#find(req, path);
    this.#routes.set(key, found);
    return found;
  }

  /** Where a request goes: a custom route first, then the resolver; the handler meta means the route's own (rpc by default). */
  #find(req: IncomingMessage, path: string): Found | undefined {
    const host = req.headers.host ?? "";
    const method = req.method ?? "GET";
    const custom = this.router.match(method, path, host);
    if (custom) {
      const h = this.#o.handler === "meta" ? custom.route.endpoint.handler : this.#o.handler;
      return { target: { service: custom.route.service, method: custom.route.endpoint.name, fields: custom.fields }, handler: h };
    }
    const resolved = resolve(this.#o.resolver, this.#o.handler, { method, path, host }, this.#o.namespace);
    if (!resolved) return undefined;
    return { target: { ...resolved, fields: {} }, handler: this.#o.handler === "meta" ? "rpc" : this.#o.handler };
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
    const found = this.#find(req, path);
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

