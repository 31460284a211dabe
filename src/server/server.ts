// The mucp server: decodes requests that arrive on the transport, runs the
// handler for their endpoint, and answers as go-micro's rpc server does
// (reference §2.1-2.3): status 200, errors in Micro-Error with no body.
import { randomUUID } from "node:crypto";
import { listen, type ServerConnection, type TransportServer } from "../transport/server.js";
import type { Message } from "../transport/transport.js";
import type { Endpoint, Node, Service as RegistryService } from "../registry/registry.js";
import { MicroError, badRequest, notFound, timeout as timeoutError, fromError } from "../errors/errors.js";
import { withMetadata, type Metadata } from "../metadata/metadata.js";
import { defaultCodecs, codecFor, CodecError, type Codec } from "../codec/index.js";
import { advertiseHost, splitHostPort, joinHostPort } from "../util/addr.js";
import { buildEndpoints, type HandleOptions, type HandlerContext, type RegisteredEndpoint } from "./handler.js";
import { debugHandler } from "./debug.js";
import type { Logger } from "../util/log.js";
import { TimerWheel, WheelEntry } from "../util/wheel.js";

/** One decoded request, as handler wrappers see it. */
export interface ServerRequest {
  readonly service: string;
  readonly endpoint: string;
  readonly contentType: string;
  readonly body: unknown;
  readonly context: HandlerContext;
}

export type HandlerFunc = (request: ServerRequest) => Promise<unknown>;
/** `(next) => next` around every handler call, outermost first. */
export type HandlerWrapper = (next: HandlerFunc) => HandlerFunc;

export interface ServerOptions {
  name: string;
  version?: string;
  /** Node id; default `<name>-<uuid>`. */
  id?: string;
  /** Listen address, default ":0". */
  address?: string;
  /** Address put in the registry, default derived from the listen address. */
  advertise?: string;
  /** Extra node metadata (server facts are added to it). */
  metadata?: Record<string, string>;
  /** Largest request body accepted, bytes; default 4 MiB as upstream gRPC. */
  maxBodySize?: number;
  wrappers?: readonly HandlerWrapper[];
  logger?: Logger;
}

export interface ServerStats {
  started: number;
  requests: number;
  errors: number;
}

const DEFAULT_CONTENT_TYPE = "application/protobuf";
const SERVER_ERROR_ID = "go.micro.server";

export class Server {
  readonly name: string;
  readonly version: string;
  readonly id: string;
  readonly stats: ServerStats = { started: 0, requests: 0, errors: 0 };
  private readonly options: ServerOptions;
  private readonly handlers = new Map<string, RegisteredEndpoint>();
  private readonly codecs = defaultCodecs();
  private transport: TransportServer | undefined;
  private chain: HandlerFunc | undefined;
  /** Request deadlines: one timer for all of them. */
  private readonly deadlines = new TimerWheel({ tick: 5 });

  constructor(options: ServerOptions) {
    this.options = options;
    this.name = options.name;
    this.version = options.version || "latest";
    this.id = options.id || `${options.name}-${randomUUID()}`;
    this.handle("Debug", debugHandler(this.stats), { internal: true });
  }

  /** Registers the methods of `handler` as endpoints `<name>.<Method>`. */
  handle(name: string, handler: object, options?: HandleOptions): void {
    for (const r of buildEndpoints(name, handler, options)) {
      if (this.handlers.has(r.endpoint.name)) throw new Error(`endpoint ${r.endpoint.name} is already handled`);
      this.handlers.set(r.endpoint.name, r);
    }
  }

  /** The advertised endpoints, in the order they were handled. */
  endpoints(): Endpoint[] {
    return [...this.handlers.values()].filter((r) => !r.internal).map((r) => r.endpoint);
  }

  async start(): Promise<void> {
    if (this.transport) return;
    let next: HandlerFunc = (req) => this.invoke(req);
    const wrappers = this.options.wrappers ?? [];
    for (let i = wrappers.length - 1; i >= 0; i--) next = wrappers[i]!(next);
    this.chain = next;
    this.transport = await listen(this.options.address || ":0", (msg, conn) => this.serve(msg, conn), {
      maxBodySize: this.options.maxBodySize ?? 4 * 1024 * 1024,
    });
    this.stats.started = Date.now();
  }

  /** host:port clients should dial. */
  get address(): string {
    if (this.options.advertise) return this.options.advertise;
    if (!this.transport) throw new Error("server not started");
    const { host, port } = splitHostPort(this.transport.address);
    return joinHostPort(advertiseHost(host), port);
  }

  /** This server as the registry entry of its service: one version, one node. */
  registryService(registryName: string): RegistryService {
    return { name: this.name, version: this.version, metadata: null, endpoints: this.endpoints(), nodes: [this.node(registryName)] };
  }

  /** This server as a registry node. */
  node(registryName: string): Node {
    return {
      id: this.id,
      address: this.address,
      metadata: {
        ...this.options.metadata,
        broker: "http",
        protocol: "mucp",
        registry: registryName,
        server: "mucp",
        transport: "http",
      },
    };
  }

  /** Stops accepting, lets in-flight requests finish (bounded by graceMs), closes. */
  async stop(graceMs = 10_000): Promise<void> {
    const transport = this.transport;
    if (!transport) return;
    this.transport = undefined;
    // The transport drains: each connection closes once its requests are answered.
    await transport.close(graceMs);
  }

  private serve(msg: Message, conn: ServerConnection): void {
    const h = msg.header;
    const id = h["Micro-Id"] ?? h["X-Micro-Id"] ?? "";
    this.stats.requests++;
    if (h["Micro-Topic"]) {
      return this.fail(conn, id, badRequest(SERVER_ERROR_ID, "pub/sub messages over the transport are not supported yet"));
    }
    const service = h["Micro-Service"] || h["X-Micro-Service"] || "";
    const endpoint = h["Micro-Endpoint"] || h["X-Micro-Endpoint"] || h["Micro-Method"] || h["X-Micro-Method"] || "";
    if (!service && !endpoint) {
      return this.fail(conn, id, badRequest(SERVER_ERROR_ID, "legacy json-rpc/proto-rpc requests without Micro-Service are not supported"));
    }
    const contentType = h["Content-Type"] || DEFAULT_CONTENT_TYPE;
    const codec = codecFor(this.codecs, contentType);
    if (!codec) {
      // Upstream answers this one in the body as text, not as Micro-Error.
      this.stats.errors++;
      const header: Record<string, string> = { "Content-Type": "text/plain" };
      if (id) header["Micro-Id"] = header["X-Micro-Id"] = id;
      return conn.send({ header, body: Buffer.from(`Unsupported Content-Type: ${contentType}`) });
    }
    const dot = endpoint.indexOf(".");
    if (dot <= 0 || dot === endpoint.length - 1 || endpoint.indexOf(".", dot + 1) >= 0) {
      return this.fail(conn, id, badRequest(SERVER_ERROR_ID, "rpc: service/endpoint request ill-formed: %s", endpoint));
    }
    const registered = this.handlers.get(endpoint);
    if (!registered) {
      const prefix = endpoint.slice(0, dot + 1);
      const knownService = [...this.handlers.keys()].some((k) => k.startsWith(prefix));
      return this.fail(conn, id, knownService
        ? notFound(SERVER_ERROR_ID, "rpc: can't find method %s", endpoint.slice(dot + 1))
        : notFound(SERVER_ERROR_ID, "rpc: can't find service %s", endpoint.slice(0, dot)));
    }
    let body: unknown;
    try {
      body = codec.unmarshal(msg.body);
    } catch (err) {
      return this.fail(conn, id, badRequest(SERVER_ERROR_ID, "rpc: router cannot decode request: %s", (err as Error).message));
    }
    h.Local = conn.local;
    h.Remote = conn.remote;
    const ns = h.Timeout ? Number(h.Timeout) : NaN;
    const deadline = ns > 0 ? Date.now() + ns / 1e6 : undefined;
    const request: ServerRequest = {
      service, endpoint, contentType, body,
      context: { service, endpoint, metadata: h as Metadata, deadline },
    };
    this.run(request, codec, conn, id, deadline);
  }

  private run(request: ServerRequest, codec: Codec, conn: ServerConnection, id: string, deadline: number | undefined): void {
    const call = new InflightCall(this, request, codec, conn, id);
    // The caller stops waiting at its deadline; answer then so the
    // connection's slot is freed, whatever the handler is still doing.
    if (deadline !== undefined) this.deadlines.add(call, deadline);
    void withMetadata(request.context.metadata, runCall, this.chain!, call);
  }

  /** @internal The handler's result for call, unless its deadline answered first. */
  finish(call: InflightCall, result: unknown): void {
    if (call.done) return;
    call.done = true;
    this.deadlines.remove(call);
    const { codec, request } = call;
    let body: Buffer;
    try {
      body = codec.marshal(result === undefined && codec.contentType === "application/json" ? {} : result);
    } catch (err) {
      const detail = err instanceof CodecError ? err.message : String(err);
      return this.fail(call.conn, call.id, new MicroError(SERVER_ERROR_ID, 500, `Unable to encode body: ${detail}`));
    }
    call.conn.reply(call.id, body.length > 0 ? request.contentType : undefined, body);
  }

  /** @internal The handler failed (or the deadline passed: err is then the timeout). */
  failCall(call: InflightCall, err: unknown): void {
    if (call.done) return;
    call.done = true;
    this.deadlines.remove(call);
    if (!(err instanceof MicroError)) this.options.logger?.error(`handler ${call.request.endpoint} failed: ${err instanceof Error ? err.stack : String(err)}`);
    this.fail(call.conn, call.id, fromError(err, SERVER_ERROR_ID));
  }

  private invoke(request: ServerRequest): Promise<unknown> {
    const registered = this.handlers.get(request.endpoint)!;
    try {
      return Promise.resolve(registered.method(request.body, request.context));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private fail(conn: ServerConnection, id: string, err: MicroError): void {
    this.stats.errors++;
    const text = err.toString();
    const header: Record<string, string> = { "Micro-Error": text, "X-Micro-Error": text };
    if (id) header["Micro-Id"] = header["X-Micro-Id"] = id;
    conn.send({ header, body: EMPTY });
  }
}

const EMPTY = Buffer.alloc(0);

/** One request being handled; its deadline, if any, sits in the server's wheel. */
class InflightCall extends WheelEntry {
  done = false;

  constructor(
    readonly server: Server,
    readonly request: ServerRequest,
    readonly codec: Codec,
    readonly conn: ServerConnection,
    readonly id: string,
  ) {
    super();
  }

  onExpire(): void {
    this.server.failCall(this, timeoutError(SERVER_ERROR_ID, "%s: handler deadline exceeded", this.request.endpoint));
  }
}

// An async function, not .then callbacks: no closures per request.
async function runCall(chain: HandlerFunc, call: InflightCall): Promise<void> {
  let result: unknown;
  try {
    result = await chain(call.request);
  } catch (err) {
    call.server.failCall(call, err);
    return;
  }
  try {
    call.server.finish(call, result);
  } catch (err) {
    call.server.failCall(call, err); // a bug here must cost one call, never the process
  }
}
