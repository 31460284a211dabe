// The mucp client: select a node, send, retry on 408/500 and connection
// failures with a fresh selection each attempt (reference §3).
import type { Node, Registry } from "../registry/registry.js";
import { TransportClient } from "../transport/client.js";
import type { Header, Message } from "../transport/transport.js";
import { MicroError, internalServerError, timeout as timeoutError, parse } from "../errors/errors.js";
import { canonical, carriesMetadata, fromContext, outgoing, type Metadata } from "../metadata/metadata.js";
import { defaultCodecs, codecFor, type Codec } from "../codec/index.js";
import { Selector, type Filter, type Strategy } from "../selector/selector.js";
import { exponentialBackoff, sleep } from "../util/backoff.js";

/** One call as call wrappers see it, per attempt. */
export interface ClientRequest {
  readonly service: string;
  readonly endpoint: string;
  readonly contentType: string;
  /** The encoded request body. */
  readonly body: Buffer;
  /** Outgoing metadata; wrappers may add to it. */
  readonly metadata: Metadata;
  /** The caller wants the response bytes undecoded. */
  readonly raw: boolean;
}

/** Sends one attempt to one node; resolves with the decoded response. */
export type CallFunc = (node: Node, request: ClientRequest, timeoutMs: number) => Promise<unknown>;
/** `(next) => next` around every attempt, after node selection; first listed is outermost. */
export type CallWrapper = (next: CallFunc) => CallFunc;
/** Whether to try again after an error; attempt counts from 1. */
export type RetryFunc = (error: MicroError, attempt: number) => boolean;

export interface CallOptions {
  /** ms for the whole call, retries included (default 5000). */
  timeout?: number;
  /** Extra attempts after the first (default 1). */
  retries?: number;
  /** Call these addresses instead of asking the selector. */
  address?: string | readonly string[];
  metadata?: Record<string, string>;
  /** Default application/json, or application/octet-stream for a Buffer. */
  contentType?: string;
  filters?: readonly Filter[];
  strategy?: Strategy;
  backoff?: (attempt: number) => number;
  retry?: RetryFunc;
  wrappers?: readonly CallWrapper[];
  /** Resolve with the response body bytes, undecoded. */
  raw?: boolean;
}

export interface ClientOptions {
  registry: Registry;
  selector?: Selector;
  /** Added as Micro-From-Service when not already set. */
  fromService?: string;
  retries?: number;
  /** ms */
  timeout?: number;
  strategy?: Strategy;
  poolSize?: number;
  /** ms */
  poolTTL?: number;
  /** Requests in flight on one connection; 1 is go-micro's way (default 64). */
  maxInFlightPerConnection?: number;
  /** Largest response body accepted, bytes (default 4 MiB). */
  maxBodySize?: number;
  /** "loop": batch request writes per event-loop turn (gateways); default per tick. */
  writeBatch?: "tick" | "loop";
  wrappers?: readonly CallWrapper[];
}

/** Upstream RetryOnError: retry 408 and 500 (connection errors are 500 too). */
export const retryOnError: RetryFunc = (err) => err.code === 408 || err.code === 500;

const CLIENT_ID = "go.micro.client";
const EMPTY_METADATA: Metadata = Object.freeze({}) as Metadata;
const MAX_SHARED_HEADERS = 1024;
/** The answer headers a call reads (Micro-Id is kept by the transport). */
const RESPONSE_HEADERS = ["Micro-Error", "X-Micro-Error", "Content-Type"];
/** Transport failures that say the node itself is gone or unreachable. */
const NODE_DOWN = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EPIPE"]);

export class Client {
  readonly selector: Selector;
  private readonly options: ClientOptions;
  private readonly transport: TransportClient;
  private readonly codecs = defaultCodecs();
  private readonly send: CallFunc;
  private seq = 0;
  private rotate = 0;
  /** Client-level wrappers exist: every call takes the wrapped path. */
  private readonly wrapped: boolean;
  /** sharedHeader's cache, by service, endpoint and content type. */
  private readonly shared = new Map<string, Header>();
  private lastShared: { service: string; endpoint: string; contentType: string; header: Header } | undefined;

  constructor(options: ClientOptions) {
    this.options = options;
    this.selector = options.selector ?? new Selector(options.registry, { strategy: options.strategy });
    this.transport = new TransportClient({
      poolSize: options.poolSize,
      idleTtl: options.poolTTL,
      maxInFlightPerConnection: options.maxInFlightPerConnection,
      maxBodySize: options.maxBodySize,
      keepHeaders: RESPONSE_HEADERS,
      writeBatch: options.writeBatch,
    });
    this.send = wrap((node, req, ms) => this.attempt(node, req, ms), options.wrappers);
    this.wrapped = options.wrappers !== undefined && options.wrappers.length > 0;
  }

  /** Calls `endpoint` ("Say.Hello") of `service` and resolves with its response. */
  async call<Rsp = unknown, Req = unknown>(service: string, endpoint: string, request: Req, options: CallOptions = {}): Promise<Rsp> {
    const timeoutMs = options.timeout ?? this.options.timeout ?? 5_000;
    const deadline = Date.now() + timeoutMs;
    const retries = options.retries ?? this.options.retries ?? 1;
    const retry = options.retry ?? retryOnError;
    const backoff = options.backoff ?? exponentialBackoff;
    const contentType = options.contentType ?? (Buffer.isBuffer(request) || request instanceof Uint8Array ? "application/octet-stream" : "application/json");
    const codec = codecFor(this.codecs, contentType);
    if (!codec) throw internalServerError(CLIENT_ID, "Unsupported Content-Type: %s", contentType);
    let body: Buffer;
    try {
      body = codec.marshal(request);
    } catch (err) {
      throw internalServerError(CLIENT_ID, "cannot encode request: %s", (err as Error).message);
    }
    const wrappers = options.wrappers !== undefined && options.wrappers.length > 0;
    const send = wrappers ? wrap(this.send, options.wrappers) : this.send;
    // The common call (no wrappers, no metadata to add) reuses one serialised header per route.
    const shared = wrappers || this.wrapped || options.metadata !== undefined || carriesMetadata(fromContext())
      ? undefined
      : this.sharedHeader(service, endpoint, contentType);
    const metadata = shared === undefined ? this.metadataFor(options.metadata) : EMPTY_METADATA;
    const raw = options.raw === true;

    let lastError: MicroError | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        const wait = backoff(attempt);
        if (wait > 0) {
          if (Date.now() + wait >= deadline) break;
          await sleep(wait);
        }
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        const node = options.address
          ? this.addressNode(options.address)
          : this.selector.selectNow(service, options) ?? await this.selector.select(service, options);
        if (shared !== undefined) {
          let rsp: Message;
          try {
            rsp = await this.transport.call(node.address, shared, String(this.seq++), remaining, body);
          } catch (err) {
            throw this.transportFailure(node, err);
          }
          return this.answer(node, contentType, rsp, raw) as Rsp;
        }
        const req: ClientRequest = { service, endpoint, contentType, body, metadata: attempt === 0 ? metadata : Object.assign({}, metadata), raw };
        return (await send(node, req, remaining)) as Rsp;
      } catch (err) {
        lastError = err instanceof MicroError ? err : internalServerError(CLIENT_ID, String((err as Error)?.message ?? err));
        if (!retry(lastError, attempt + 1)) throw lastError;
      }
    }
    throw lastError ?? timeoutError(CLIENT_ID, "call timeout: context deadline exceeded");
  }

  close(): void {
    this.transport.close();
  }

  private metadataFor(extra: Record<string, string> | undefined): Metadata {
    const inbound = fromContext();
    const md: Metadata = inbound ? outgoing(inbound) : {};
    if (extra) Object.assign(md, canonical(extra));
    const from = this.options.fromService;
    if (from && md["Micro-From-Service"] === undefined) md["Micro-From-Service"] = from;
    return md;
  }

  private addressNode(address: string | readonly string[]): Node {
    const list = typeof address === "string" ? [address] : address;
    if (list.length === 0) throw internalServerError(CLIENT_ID, "no address to call");
    const a = list[this.rotate++ % list.length]!;
    return { id: a, address: a, metadata: null };
  }

  /** The wire header every plain call of this route shares: made once, never changed. */
  private sharedHeader(service: string, endpoint: string, contentType: string): Header {
    const last = this.lastShared;
    // Most callers call one route over and over: skip building the map key.
    if (last !== undefined && last.service === service && last.endpoint === endpoint && last.contentType === contentType) return last.header;
    const key = `${service}\n${endpoint}\n${contentType}`;
    let header = this.shared.get(key);
    if (header === undefined) {
      header = this.routeHeader(this.metadataFor(undefined), service, endpoint, contentType);
      if (this.shared.size >= MAX_SHARED_HEADERS) this.shared.clear();
      this.shared.set(key, header);
    }
    this.lastShared = { service, endpoint, contentType, header };
    return header;
  }

  private routeHeader(metadata: Metadata, service: string, endpoint: string, contentType: string): Header {
    const header: Header = Object.assign({}, metadata);
    header["Content-Type"] = contentType;
    header.Accept = contentType;
    header["Micro-Service"] = service;
    header["Micro-Method"] = endpoint;
    header["Micro-Endpoint"] = endpoint;
    return header;
  }

  /** One attempt on the wire, as wrappers see it. */
  private async attempt(node: Node, req: ClientRequest, timeoutMs: number): Promise<unknown> {
    const header = this.routeHeader(req.metadata, req.service, req.endpoint, req.contentType);
    header.Timeout = `${Math.max(1, Math.round(timeoutMs))}000000`;
    header["Micro-Id"] = String(this.seq++);
    let rsp: Message;
    try {
      rsp = await this.transport.request(node.address, { header, body: req.body }, timeoutMs);
    } catch (err) {
      throw this.transportFailure(node, err);
    }
    return this.answer(node, req.contentType, rsp, req.raw);
  }

  /** A transport failure as a MicroError; a node that refused or reset is skipped for a while. */
  private transportFailure(node: Node, err: unknown): MicroError {
    const code = (err as { code?: string }).code;
    if (code && NODE_DOWN.has(code)) this.selector.mark(node.id, false);
    if (code === "ETIMEDOUT") return timeoutError(CLIENT_ID, "call timeout: context deadline exceeded");
    if (code === "EHTTPSTATUS") return internalServerError(CLIENT_ID, (err as Error).message);
    return internalServerError(CLIENT_ID, "connection error: %s", (err as Error).message);
  }

  /** The node answered: its Micro-Error, or the decoded (or raw) body. */
  private answer(node: Node, contentType: string, rsp: Message, raw: boolean): unknown {
    this.selector.mark(node.id, true);
    const error = rsp.header["Micro-Error"] ?? rsp.header["X-Micro-Error"];
    if (error) throw parse(error);
    return raw ? rsp.body : this.decode(contentType, rsp);
  }

  private decode(contentType: string, rsp: Message): unknown {
    const ct = rsp.header["Content-Type"];
    let codec: Codec | undefined = codecFor(this.codecs, contentType);
    if (ct && ct !== contentType) {
      codec = codecFor(this.codecs, ct);
      // A server that cannot read our Content-Type says so as text.
      if (!codec) throw internalServerError(CLIENT_ID, rsp.body.toString("utf8") || `unexpected response Content-Type ${ct}`);
    }
    try {
      return codec!.unmarshal(rsp.body);
    } catch (err) {
      throw internalServerError(CLIENT_ID, "cannot decode response: %s", (err as Error).message);
    }
  }
}

function wrap(call: CallFunc, wrappers: readonly CallWrapper[] | undefined): CallFunc {
  if (!wrappers) return call;
  for (let i = wrappers.length - 1; i >= 0; i--) call = wrappers[i]!(call);
  return call;
}
