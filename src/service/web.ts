// WebService: go-micro's web.NewService — a plain HTTP server (a handler of
// yours, or routes registered with handle()) that registers itself as
// `go.micro.web.<x>` so `micro web` proxies /<x>/ to it. The lifecycle is a
// Service's: flags and MICRO_* variables, register at start (TTL 90 s, every
// 30 s, as upstream's web defaults), on SIGTERM/SIGINT deregister first, then
// stop accepting, let requests in flight finish, exit.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { AddressInfo } from "node:net";
import { type Registry, newRegistry } from "../registry/index.js";
import type { Endpoint, Service as RegistryService } from "../registry/registry.js";
import { type Config, ConfigError, resolveConfig } from "../config/config.js";
import { newLogger, type Logger } from "../util/log.js";
import { Registration, stopOnSignals } from "./registration.js";
import { advertiseHost, joinHostPort, splitHostPort } from "../util/addr.js";

export type WebHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface WebServiceOptions {
  /** e.g. go.micro.web.greeter; default "go-web" as upstream. */
  name?: string;
  version?: string;
  /** Node id; default a UUID, as upstream's web services. */
  id?: string;
  /** Node metadata. */
  metadata?: Record<string, string>;
  /** Listen address, default ":0". */
  address?: string;
  advertise?: string;
  /** ms; default 90 000 (upstream's web default). --register_ttl (s) overrides. */
  registerTTL?: number;
  /** ms; default 30 000. --register_interval (s) overrides. */
  registerInterval?: number;
  /** Serves every request; without it, the routes of handle() (and staticDir) do. */
  handler?: WebHandler;
  /** Files served at / when no "/" route is handled; default "html" under the working folder, if it exists (upstream's default). */
  staticDir?: string;
  registry?: Registry;
  /** How long stop() waits for requests in flight, ms (default 10 s). */
  gracePeriod?: number;
  /** Stop on SIGTERM/SIGINT (default true). */
  handleSignals?: boolean;
  /** Command-line flags; default process.argv.slice(2). */
  args?: readonly string[];
  /** Environment; default process.env. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
  ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8",
};

export class WebService {
  readonly name: string;
  readonly id: string;
  readonly config: Config;
  readonly registry: Registry;
  readonly server: Server;
  readonly #options: WebServiceOptions;
  readonly #log: Logger;
  /** pattern → handler, as Go's ServeMux: "/x/" a subtree, "/x" exact. */
  readonly #routes = new Map<string, WebHandler>();
  #registration: Registration | undefined;
  #state: "new" | "starting" | "running" | "stopping" | "stopped" = "new";
  #starting: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #resolveStopped: (() => void) | undefined;
  #unhookSignals: (() => void) | undefined;

  constructor(options: WebServiceOptions = {}) {
    this.#options = options;
    this.#log = options.logger ?? newLogger(options.env?.MICRO_LOG_LEVEL ?? process.env.MICRO_LOG_LEVEL);
    const code: Partial<Config> = {
      serverName: options.name ?? "go-web",
      serverVersion: options.version ?? "latest",
      serverId: options.id,
      serverAddress: options.address,
      serverAdvertise: options.advertise,
      registerTTL: options.registerTTL ?? 90_000,
      registerInterval: options.registerInterval ?? 30_000,
    };
    const fromArgv = options.args === undefined;
    try {
      this.config = resolveConfig(code, options.env ?? process.env, [...(options.args ?? process.argv.slice(2))]);
      if (!this.config.serverName) throw new ConfigError("a web service needs a name");
      this.registry = options.registry ?? newRegistry(this.config.registry, this.config.registryAddress);
    } catch (err) {
      // A real process with bad flags gets one line and exit 1, as a CLI does.
      if (fromArgv && err instanceof Error) {
        process.stderr.write(`${options.name || "go-web"}: ${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
    this.name = this.config.serverName;
    this.id = this.config.serverId || randomUUID();
    this.server = createServer({ headersTimeout: 20_000, requestTimeout: 120_000 }, (req, res) => this.#serve(req, res));
  }

  /**
   * Serves pattern with handler, as Go's http.ServeMux: "/" and "/x/" match
   * their whole subtree (longest wins), "/x" only itself. Each pattern is
   * advertised as an endpoint, as upstream does.
   */
  handle(pattern: string, handler: WebHandler): this {
    if (!pattern.startsWith("/")) throw new Error(`pattern ${JSON.stringify(pattern)} must start with /`);
    if (this.#routes.has(pattern)) throw new Error(`pattern ${pattern} is already handled`);
    this.#routes.set(pattern, handler);
    return this;
  }

  /** host:port callers (micro web) dial: the advertise address, else the listen address (an unspecified host becomes a private IP). */
  get address(): string {
    if (this.config.serverAdvertise) return this.config.serverAdvertise;
    const a = this.server.address() as AddressInfo | null;
    if (!a) throw new Error("web service not started");
    return joinHostPort(advertiseHost(a.address), a.port);
  }

  /** Starts, then resolves once stopped (by signal or stop()). A failure to start logs one line and sets exit code 1. */
  async run(): Promise<void> {
    if (this.#options.handleSignals !== false) this.#unhookSignals = stopOnSignals(this.name, this.#log, () => this.stop());
    try {
      await this.start();
    } catch (err) {
      this.#log.error(`${this.name}: ${(err as Error).message}`);
      await this.stop().catch(() => undefined);
      process.exitCode = 1;
      return;
    }
    await this.#stopped;
  }

  /** Listens and registers; re-registers every interval. */
  start(): Promise<void> {
    if (this.#state !== "new") return Promise.reject(new Error(`web service ${this.name} was already started`));
    this.#state = "starting";
    this.#stopped = new Promise<void>((r) => (this.#resolveStopped = r));
    this.#starting = this.#startUp();
    return this.#starting;
  }

  async #startUp(): Promise<void> {
    this.#log.info(`Starting [web] ${this.name}`);
    const { host, port } = splitHostPort(this.config.serverAddress || ":0");
    await new Promise<void>((resolveListen, reject) => {
      const onError = (err: NodeJS.ErrnoException) => reject(new Error(`cannot listen on ${this.config.serverAddress}: ${err.code ?? err.message}`));
      this.server.once("error", onError);
      this.server.listen(port, host || undefined, () => {
        this.server.off("error", onError);
        resolveListen();
      });
    });
    this.#log.info(`Listening on ${this.address}`);
    this.#registration = new Registration(this.registry, () => this.#record(), { ttl: this.config.registerTTL, interval: this.config.registerInterval, log: this.#log });
    await this.#registration.start();
    this.#log.info(`Registry [${this.registry.name}] Registering node: ${this.id}`);
    if (this.#state === "starting") this.#state = "running";
  }

  /** Deregisters first so micro web stops sending here, then lets requests finish (bounded by gracePeriod) and closes. */
  async stop(): Promise<void> {
    if (this.#state === "stopping" || this.#state === "stopped") return this.#stopped;
    const wasStarted = this.#state !== "new";
    this.#state = "stopping";
    await this.#starting?.catch(() => undefined);
    await this.#registration?.halt();
    this.#unhookSignals?.();
    if (wasStarted && this.server.listening) {
      this.#log.info(`Registry [${this.registry.name}] Deregistering node: ${this.id}`);
      await this.#registration?.stop();
      await new Promise<void>((done) => {
        const force = setTimeout(() => this.server.closeAllConnections(), this.#options.gracePeriod ?? 10_000);
        force.unref();
        this.server.close(() => {
          clearTimeout(force);
          done();
        });
        this.server.closeIdleConnections();
      });
    }
    await this.registry.close();
    this.#state = "stopped";
    if (wasStarted) this.#log.info(`Stopped [web] ${this.name}`);
    this.#resolveStopped?.();
  }

  #record(): RegistryService {
    const metadata = { ...this.#options.metadata, ...this.config.serverMetadata };
    const endpoints: Endpoint[] = [...this.#routes.keys()].map((name) => ({ name, request: null, response: null, metadata: null }));
    return {
      name: this.name,
      version: this.config.serverVersion || "latest",
      metadata: null,
      endpoints: endpoints.length > 0 ? endpoints : null,
      nodes: [{ id: this.id, address: this.address, metadata: Object.keys(metadata).length > 0 ? metadata : null }],
    };
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const fail = (err: unknown) => {
      this.#log.error(`${this.name}: ${req.method} ${req.url}: ${err instanceof Error ? err.stack : String(err)}`);
      if (!res.headersSent) {
        res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
        res.end("500 internal server error\n");
      } else res.destroy();
    };
    try {
      const handler = this.#options.handler ?? this.#route(req);
      const out = handler(req, res);
      if (out && typeof (out as Promise<void>).then === "function") (out as Promise<void>).catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  /** Longest matching pattern, as Go's ServeMux; then the static folder; then 404. */
  #route(req: IncomingMessage): WebHandler {
    const path = (req.url ?? "/").split("?")[0]!;
    let best: string | undefined;
    for (const p of this.#routes.keys()) {
      const match = p.endsWith("/") ? path.startsWith(p) : path === p;
      if (match && (best === undefined || p.length > best.length)) best = p;
    }
    if (best !== undefined) return this.#routes.get(best)!;
    if (!this.#routes.has("/")) return (rq, rs) => this.#static(rq, rs);
    return notFound;
  }

  async #static(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const dir = resolve(this.#options.staticDir ?? "html");
    let rel: string;
    try {
      rel = decodeURIComponent((req.url ?? "/").split("?")[0]!);
    } catch {
      return notFound(req, res);
    }
    if (rel.includes("\0")) return notFound(req, res);
    let file = normalize(join(dir, rel));
    if (file !== dir && !file.startsWith(dir + sep)) return notFound(req, res); // outside the folder
    try {
      let s = await stat(file);
      if (s.isDirectory()) {
        file = join(file, "index.html");
        s = await stat(file);
      }
      if (!s.isFile()) return notFound(req, res);
      res.writeHead(200, { "Content-Type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream", "Content-Length": s.size });
      if (req.method === "HEAD") return void res.end();
      createReadStream(file).on("error", () => res.destroy()).pipe(res);
    } catch {
      notFound(req, res);
    }
  }
}

function notFound(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
  res.end("404 page not found\n");
}
