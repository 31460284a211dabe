// A Service is a server, a client and a registry put together, with the
// lifecycle of a go-micro service: flags and MICRO_* variables, register at
// start, re-register every interval, on SIGTERM/SIGINT deregister, drain, exit.
import { type Registry, CacheRegistry, newRegistry } from "../registry/index.js";
import { Server, type HandlerWrapper } from "../server/server.js";
import type { HandleOptions } from "../server/handler.js";
import { Client, type CallWrapper } from "../client/client.js";
import { type Config, ConfigError, resolveConfig } from "../config/config.js";
import { newLogger, type Logger } from "../util/log.js";
import { Registration, stopOnSignals } from "./registration.js";

export interface ServiceOptions {
  name: string;
  version?: string;
  /** Node metadata. */
  metadata?: Record<string, string>;
  /** ms; --register_ttl (s) and MICRO_REGISTER_TTL override. */
  registerTTL?: number;
  /** ms; --register_interval (s) and MICRO_REGISTER_INTERVAL override. */
  registerInterval?: number;
  /** Listen address, default ":0". */
  address?: string;
  advertise?: string;
  id?: string;
  /** A registry instance; otherwise the one --registry names. */
  registry?: Registry;
  retries?: number;
  /** Client request timeout, ms. */
  requestTimeout?: number;
  /** Largest body accepted by server and client, bytes (default 4 MiB). */
  maxBodySize?: number;
  wrapCall?: readonly CallWrapper[];
  wrapHandler?: readonly HandlerWrapper[];
  /** How long stop() waits for in-flight requests, ms (default 10 s). */
  gracePeriod?: number;
  /** Stop on SIGTERM/SIGINT (default true). */
  handleSignals?: boolean;
  /** Command-line flags; default process.argv.slice(2). */
  args?: readonly string[];
  /** Environment; default process.env. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export class Service {
  readonly name: string;
  readonly config: Config;
  readonly server: Server;
  readonly client: Client;
  /** The registry nodes are written to. */
  readonly registry: Registry;
  private readonly cache: CacheRegistry;
  private readonly options: ServiceOptions;
  private readonly log: Logger;
  private registration: Registration | undefined;
  private state: "new" | "starting" | "running" | "stopping" | "stopped" = "new";
  private stopped: Promise<void> | undefined;
  private resolveStopped: (() => void) | undefined;
  private starting: Promise<void> | undefined;
  private unhookSignals: (() => void) | undefined;

  constructor(options: ServiceOptions) {
    this.options = options;
    this.log = options.logger ?? newLogger(options.env?.MICRO_LOG_LEVEL ?? process.env.MICRO_LOG_LEVEL);
    const code: Partial<Config> = {
      serverName: options.name,
      serverVersion: options.version,
      serverId: options.id,
      serverAddress: options.address,
      serverAdvertise: options.advertise,
      registerTTL: options.registerTTL,
      registerInterval: options.registerInterval,
      clientRetries: options.retries,
      clientRequestTimeout: options.requestTimeout,
    };
    const fromArgv = options.args === undefined;
    try {
      this.config = resolveConfig(code, options.env ?? process.env, [...(options.args ?? process.argv.slice(2))]);
      if (!this.config.serverName) throw new ConfigError("a service needs a name");
      this.registry = options.registry ?? newRegistry(this.config.registry, this.config.registryAddress);
    } catch (err) {
      // A real process with bad flags gets one line and exit 1, as a CLI does.
      if (fromArgv && (err instanceof ConfigError || err instanceof Error)) {
        process.stderr.write(`${options.name || "service"}: ${(err as Error).message}\n`);
        process.exit(1);
      }
      throw err;
    }
    const c = this.config;
    this.name = c.serverName;
    this.server = new Server({
      name: c.serverName,
      version: c.serverVersion,
      id: c.serverId || undefined,
      address: c.serverAddress,
      advertise: c.serverAdvertise,
      metadata: { ...options.metadata, ...c.serverMetadata },
      maxBodySize: options.maxBodySize,
      wrappers: options.wrapHandler,
      logger: this.log,
    });
    this.cache = new CacheRegistry(this.registry, { logger: this.log });
    this.client = new Client({
      registry: this.cache,
      fromService: c.serverName,
      retries: c.clientRetries,
      timeout: c.clientRequestTimeout,
      strategy: c.selectorStrategy,
      poolSize: c.clientPoolSize,
      poolTTL: c.clientPoolTTL,
      maxBodySize: options.maxBodySize,
      wrappers: options.wrapCall,
    });
  }

  /** Registers the methods of `handler` as endpoints `<name>.<Method>`. */
  handle(name: string, handler: object, options?: HandleOptions): this {
    this.server.handle(name, handler, options);
    return this;
  }

  /** Starts, then resolves once the service has stopped (by signal or stop()). */
  async run(): Promise<void> {
    // Signals first: one that arrives while starting still stops cleanly.
    if (this.options.handleSignals !== false) this.unhookSignals = stopOnSignals(this.name, this.log, () => this.stop());
    try {
      await this.start();
    } catch (err) {
      this.log.error(`${this.name}: ${(err as Error).message}`);
      await this.stop().catch(() => undefined);
      process.exitCode = 1;
      return;
    }
    await this.stopped;
  }

  /** Listens and registers; re-registers every interval. */
  start(): Promise<void> {
    if (this.state !== "new") return Promise.reject(new Error(`service ${this.name} was already started`));
    this.state = "starting";
    this.stopped = new Promise<void>((r) => (this.resolveStopped = r));
    this.starting = this.startUp();
    return this.starting;
  }

  private async startUp(): Promise<void> {
    this.log.info(`Starting [service] ${this.name}`);
    await this.server.start();
    this.log.info(`Server [mucp] Listening on ${this.server.address}`);
    this.registration = new Registration(this.registry, () => this.server.registryService(this.registry.name), { ttl: this.config.registerTTL, interval: this.config.registerInterval, log: this.log });
    await this.registration.start();
    this.log.info(`Registry [${this.registry.name}] Registering node: ${this.server.id}`);
    if (this.state === "starting") this.state = "running";
  }

  /** Deregisters first so callers move on, then drains in-flight calls and closes. */
  async stop(): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") return this.stopped;
    const wasStarted = this.state !== "new";
    this.state = "stopping";
    // A start in progress finishes first, so that what it registers is removed.
    await this.starting?.catch(() => undefined);
    await this.registration?.halt();
    this.unhookSignals?.();
    if (wasStarted) {
      this.log.info(`Registry [${this.registry.name}] Deregistering node: ${this.server.id}`);
      await this.registration?.stop(); // none when listening failed: nothing was registered
      await this.server.stop(this.options.gracePeriod ?? 10_000);
    }
    this.client.close();
    await this.cache.close();
    await this.registry.close();
    this.state = "stopped";
    if (wasStarted) this.log.info(`Stopped [service] ${this.name}`);
    this.resolveStopped?.();
  }

}
