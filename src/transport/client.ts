// The mucp transport client: a pool of raw TCP connections per address, each
// carrying pipelined HTTP/1.1 requests whose answers are matched by Micro-Id.
// maxInFlightPerConnection=1 behaves like go-micro (one call per connection).

import { connect, type LookupFunction, type Socket } from "node:net";
import { splitHostPort } from "../util/addr.js";
import {
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_USER_AGENT,
  FrameWriter,
  HeadTemplate,
  Http1Parser,
  requestTemplate,
  serializeRequestHead,
  type Http1Error,
  type Http1Head,
  type Http1Sink,
} from "./http1.js";
import { TransportError, type Header, type Message } from "./transport.js";
import { TimerWheel, WheelEntry } from "../util/wheel.js";
import { IdList } from "../util/idlist.js";

export interface TransportClientOptions {
  /** Most connections per address. Default 100 (go-micro's DefaultPoolSize). */
  poolSize?: number;
  /** Requests in flight on one connection. Default 64; 1 = go-micro compatible. */
  maxInFlightPerConnection?: number;
  /** Connections a busy address gets before requests share them up to maxInFlightPerConnection. Default 4. */
  spread?: number;
  /**
   * Only these response header keys reach the caller (default: all). A
   * go-micro server echoes every request header in each answer; a caller
   * that reads two of them need not pay for the rest.
   */
  keepHeaders?: readonly string[];
  /**
   * When queued requests are written: "tick" (default) once per tick; "loop"
   * once per event-loop turn, so that requests a gateway reads from many
   * sockets in one turn share a write.
   */
  writeBatch?: "tick" | "loop";
  /** Close a connection after this many ms without traffic and nothing in flight. Default 60 000. */
  idleTtl?: number;
  /** Give up connecting after this many ms. Default 5 000. */
  dialTimeout?: number;
  /** Largest response body accepted. Default 4 MiB. */
  maxBodySize?: number;
  /** User-Agent sent unless the message has its own. */
  userAgent?: string;
  /** Host name resolution, as net.connect's `lookup` (custom DNS). */
  lookup?: LookupFunction;
}

// Deadlines longer than 2^31-1 ms (~24 days) count as none, as they did with Node timers.
const MAX_TIMER_MS = 0x7fffffff;
// How many queued requests a freed slot looks past when the first ones' Micro-Ids are busy on that connection.
const QUEUE_LOOKAHEAD = 16;

/** One call: lives in a pool queue, then in a connection's in-flight map; its deadline sits in the client's timer wheel. */
class Pending extends WheelEntry {
  readonly id: string;
  readonly address: string;
  readonly timeoutMs: number;
  /** The whole header, or (when timeoutHeader is set) the part shared with other calls. */
  header: Header | null;
  body: Buffer | null;
  /** Set for call(): the Timeout header value, written with id into the shared header's template. */
  readonly timeoutHeader: string | null;
  resolve: (m: Message) => void = noop;
  reject: (e: Error) => void = noop;
  wheel: TimerWheel | null = null;
  conn: ClientConn | null = null;
  done = false;

  constructor(id: string, address: string, header: Header, body: Buffer, timeoutHeader: string | null, timeoutMs: number) {
    super();
    this.id = id;
    this.address = address;
    this.header = header;
    this.body = body;
    this.timeoutHeader = timeoutHeader;
    this.timeoutMs = timeoutMs;
  }

  settle(err: Error | null, msg?: Message): void {
    if (this.done) return;
    this.done = true;
    if (this.wheel !== null) this.wheel.remove(this);
    this.header = this.body = null;
    // Drop the promise: a settled Pending that V8 happened to promote to the old
    // generation would otherwise keep its answer (and the socket chunk the body
    // views) alive through every young-generation GC until the next full one.
    const { resolve, reject } = this;
    this.resolve = this.reject = noop;
    if (err) reject(err);
    else resolve(msg!);
  }

  onExpire(): void {
    if (this.done) return;
    this.settle(new TransportError("ETIMEDOUT", `request to ${this.address} timed out after ${this.timeoutMs}ms`, this.address));
    this.conn?.timedOut();
  }
}

export class TransportClient {
  readonly poolSize: number;
  readonly maxInFlight: number;
  readonly spread: number;
  readonly keepHeaders: ReadonlySet<string> | undefined;
  readonly writePerLoop: boolean;
  readonly idleTtl: number;
  readonly dialTimeout: number;
  readonly maxBodySize: number;
  readonly userAgent: string;
  readonly lookup: LookupFunction | undefined;
  private readonly pools = new Map<string, Pool>();
  // One timer for every request's deadline instead of one per request.
  private readonly wheel = new TimerWheel({ tick: 5 });
  private closed = false;

  constructor(opts: TransportClientOptions = {}) {
    this.poolSize = Math.max(1, opts.poolSize ?? 100);
    this.maxInFlight = Math.max(1, opts.maxInFlightPerConnection ?? 64);
    this.spread = Math.min(this.poolSize, Math.max(1, opts.spread ?? 4));
    // Micro-Id matches answers to requests: always kept.
    this.keepHeaders = opts.keepHeaders === undefined ? undefined : new Set([...opts.keepHeaders, "Micro-Id"]);
    this.writePerLoop = opts.writeBatch === "loop";
    this.idleTtl = opts.idleTtl ?? 60_000;
    this.dialTimeout = opts.dialTimeout ?? 5_000;
    this.maxBodySize = opts.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.lookup = opts.lookup;
  }

  /** Sends msg (whose header carries Micro-Id) to address and resolves with the answer. */
  request(address: string, msg: Message, timeoutMs: number): Promise<Message> {
    return this.enqueue(address, msg.header["Micro-Id"] ?? "", msg.header, msg.body, null, timeoutMs);
  }

  /**
   * A mucp call: the wire header is `shared` plus Micro-Id and Timeout (ns).
   * Pass the same `shared` object for calls that share it (same service,
   * endpoint, content type and metadata): its serialised form is reused.
   * Never change a `shared` object after its first use.
   */
  call(address: string, shared: Header, id: string, timeoutMs: number, body: Buffer): Promise<Message> {
    return this.enqueue(address, id, shared, body, `${Math.max(1, Math.round(timeoutMs))}000000`, timeoutMs);
  }

  private enqueue(address: string, id: string, header: Header, body: Buffer, timeoutHeader: string | null, timeoutMs: number): Promise<Message> {
    if (this.closed) return Promise.reject(new TransportError("ECLOSED", "transport client is closed", address));
    let pool = this.pools.get(address);
    if (pool === undefined) {
      let host: string;
      let port: number;
      try {
        ({ host, port } = splitHostPort(address));
      } catch (err) {
        return Promise.reject(new TransportError("EINVAL", (err as Error).message, address));
      }
      pool = new Pool(this, address, host, port);
      this.pools.set(address, pool);
    }
    const p = new Pending(id, address, header, body, timeoutHeader, timeoutMs);
    const promise = promiseFor(p);
    if (timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS) {
      p.wheel = this.wheel;
      this.wheel.add(p, Date.now() + timeoutMs);
    }
    pool.submit(p);
    return promise;
  }

  /** Destroys every connection and fails whatever is queued or in flight with ECLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  /** Open connections across all addresses (for tests and stats). */
  get connections(): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.conns.length;
    return n;
  }

  dropPool(pool: Pool): void {
    if (this.pools.get(pool.address) === pool) this.pools.delete(pool.address);
  }
}

/** The connections and waiting requests for one address. */
class Pool {
  readonly client: TransportClient;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly conns: ClientConn[] = [];
  dialing = 0;
  private readonly templates = new WeakMap<Header, HeadTemplate | null>();
  private queue: Pending[] = [];
  private qHead = 0;

  constructor(client: TransportClient, address: string, host: string, port: number) {
    this.client = client;
    this.address = address;
    this.host = host;
    this.port = port;
  }

  /** The serialised form of a call's shared header, made once per header object; null: serialise each call in full. */
  template(shared: Header): HeadTemplate | null {
    let t = this.templates.get(shared);
    if (t === undefined) this.templates.set(shared, (t = requestTemplate(shared, this.address, this.client.userAgent)));
    return t;
  }

  submit(p: Pending): void {
    const conn = this.pick(p.id);
    if (conn !== null) {
      conn.send(p);
      // Busy: open another connection (up to `spread`) so that two processes
      // work in parallel on different batches instead of taking turns on one.
      if (conn.live > 1 && this.dialing === 0 && this.conns.length < this.client.spread) {
        this.dialing++;
        this.conns.push(new ClientConn(this));
      }
      return;
    }
    this.queue.push(p);
    this.maybeDial();
  }

  // The least-loaded ready connection with a free slot where this Micro-Id is not already in flight.
  private pick(id: string): ClientConn | null {
    const cap = this.client.maxInFlight;
    let best: ClientConn | null = null;
    let load = cap;
    for (let i = 0; i < this.conns.length; i++) {
      const c = this.conns[i]!;
      const n = c.inflight.size;
      if (n < load && c.usable && !c.inflight.has(id)) {
        best = c;
        load = n;
        if (n === 0) break;
      }
    }
    return best;
  }

  // Dial only when the queue outgrows what connections already being dialled will absorb.
  private maybeDial(): void {
    const waiting = this.queue.length - this.qHead;
    if (waiting > this.dialing * this.client.maxInFlight && this.conns.length < this.client.poolSize) {
      this.dialing++;
      this.conns.push(new ClientConn(this));
    }
  }

  /** Hands queued requests to conn while it has room. */
  drain(conn: ClientConn): void {
    const cap = this.client.maxInFlight;
    const q = this.queue;
    while (this.qHead < q.length && conn.usable && conn.inflight.size < cap) {
      // Skip settled (timed-out) entries at the front.
      if (q[this.qHead]!.done) {
        q[this.qHead++] = undefined as unknown as Pending;
        continue;
      }
      let k = this.qHead;
      const stop = Math.min(q.length, this.qHead + QUEUE_LOOKAHEAD);
      while (k < stop && (q[k]!.done || conn.inflight.has(q[k]!.id))) k++;
      if (k === stop) break;
      const p = q[k]!;
      if (k === this.qHead) q[this.qHead++] = undefined as unknown as Pending;
      else q.splice(k, 1);
      conn.send(p);
    }
    this.compact();
  }

  private compact(): void {
    if (this.qHead === this.queue.length) {
      this.queue = [];
      this.qHead = 0;
    } else if (this.qHead > 1024 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead);
      this.qHead = 0;
    }
  }

  connected(conn: ClientConn): void {
    this.dialing--;
    this.drain(conn);
  }

  /** conn is gone; `dialErr` is set when it never connected. */
  removed(conn: ClientConn, dialErr: TransportError | null): void {
    const i = this.conns.indexOf(conn);
    if (i >= 0) this.conns.splice(i, 1);
    if (dialErr !== null) {
      this.dialing--;
      // With no connection up to serve them, the waiting requests share the dial's fate
      // (other dials still under way would most likely fail the same way).
      // No redial here either: a down node must not cause a dial storm.
      if (!this.conns.some(isReady)) this.failQueue(dialErr);
    } else if (this.queue.length > this.qHead) {
      this.maybeDial();
    }
    if (this.conns.length === 0 && this.queue.length === this.qHead) this.client.dropPool(this);
  }

  private failQueue(err: TransportError): void {
    const q = this.queue;
    const from = this.qHead;
    this.queue = [];
    this.qHead = 0;
    for (let i = from; i < q.length; i++) q[i]!.settle(err);
  }

  close(): void {
    const err = new TransportError("ECLOSED", "transport client is closed", this.address);
    this.failQueue(err);
    for (const c of this.conns.slice()) c.destroy(err);
  }
}

/** One TCP connection of a pool: parser sink and request writer. */
class ClientConn implements Http1Sink {
  readonly pool: Pool;
  /** Requests written and not answered, by Micro-Id; timed-out ones stay until their late answer (their id is still busy server-side). */
  readonly inflight = new IdList<Pending>();
  private readonly socket: Socket;
  private readonly parser: Http1Parser;
  private readonly writer: FrameWriter;
  private ready = false;
  private dead = false;
  private reusable = true;
  private zombies = 0;
  private dialTimer: NodeJS.Timeout | undefined;
  private error: TransportError | null = null;

  constructor(pool: Pool) {
    this.pool = pool;
    const client = pool.client;
    this.parser = new Http1Parser("response", this, { maxBodySize: client.maxBodySize, keepHeaders: client.keepHeaders });
    const socket = client.lookup === undefined
      ? connect({ host: pool.host, port: pool.port, noDelay: true })
      : connect({ host: pool.host, port: pool.port, noDelay: true, lookup: client.lookup });
    this.socket = socket;
    this.writer = new FrameWriter(socket, client.writePerLoop);
    if (client.dialTimeout > 0) {
      this.dialTimer = setTimeout(onDialTimeout, client.dialTimeout, this);
      this.dialTimer.unref();
    }
    socket.on("connect", () => this.onConnect());
    socket.on("data", (chunk: Buffer) => this.parser.push(chunk));
    socket.on("end", () => {
      this.reusable = false; // the server is closing; 'close' follows
      this.parser.end();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => this.onSocketError(err));
    socket.on("close", () => this.onClose());
  }

  /** Requests in flight that someone still waits for (timed-out ones excluded). */
  get live(): number {
    return this.inflight.size - this.zombies;
  }

  /** Connected, not dying, and not told to stop by the server. */
  get usable(): boolean {
    return this.ready && this.reusable && !this.dead;
  }

  send(p: Pending): void {
    const header = p.header!;
    const body = p.body!;
    p.conn = this;
    p.header = p.body = null;
    if (this.inflight.size === 0) this.socket.ref();
    this.inflight.add(p.id, p);
    const pool = this.pool;
    const t = p.timeoutHeader === null ? null : pool.template(header);
    if (t !== null) {
      this.writer.pushTemplate(t, body.length, p.id, p.timeoutHeader!, body);
    } else {
      const whole = p.timeoutHeader === null ? header : Object.assign({}, header, { "Micro-Id": p.id, Timeout: p.timeoutHeader });
      this.writer.push(serializeRequestHead(whole, pool.address, body.length, pool.client.userAgent), body);
    }
  }

  private onConnect(): void {
    this.ready = true;
    if (this.dialTimer !== undefined) clearTimeout(this.dialTimer);
    this.dialTimer = undefined;
    const ttl = this.pool.client.idleTtl;
    if (ttl > 0) this.socket.setTimeout(ttl, () => this.onIdle());
    this.pool.connected(this);
    // An idle connection must not keep the process alive; send() re-refs it.
    if (this.inflight.size === 0) this.socket.unref();
  }

  dialTimedOut(): void {
    const client = this.pool.client;
    this.destroy(new TransportError("ETIMEDOUT", `dial tcp ${this.pool.address}: i/o timeout after ${client.dialTimeout}ms`, this.pool.address));
  }

  private onIdle(): void {
    if (this.inflight.size === 0) this.destroy(null);
  }

  /** A request on this connection timed out; its slot stays taken until the late answer. */
  timedOut(): void {
    this.zombies++;
    // Go closes the connection on a timed-out call; we do so once nothing live is left on a full connection.
    if (this.zombies === this.inflight.size && this.inflight.size >= this.pool.client.maxInFlight) this.destroy(null);
  }

  onMessage(head: Http1Head, body: Buffer): void {
    if (head.close) this.reusable = false;
    const p = this.match(head);
    if (p === undefined) {
      // An answer nobody asked for: a non-200 one means the server gave up on this connection.
      if (head.statusCode !== 200) this.destroy(statusError(head, body, this.pool.address));
      return;
    }
    if (p !== null) {
      if (head.statusCode !== 200) p.settle(statusError(head, body, this.pool.address));
      else p.settle(null, { header: head.header, body });
    }
    this.afterAnswer();
  }

  onOversize(head: Http1Head, bodySize: number): void {
    if (head.close) this.reusable = false;
    const p = this.match(head);
    if (p === undefined) return;
    if (p !== null) {
      const { address, client } = this.pool;
      p.settle(new TransportError("EMSGSIZE", `response body of ${bodySize} bytes from ${address} exceeds the limit of ${client.maxBodySize} bytes`, address));
    }
    this.afterAnswer();
  }

  onError(err: Http1Error): void {
    this.destroy(new TransportError("EPROTO", `bad response from ${this.pool.address}: ${err.message}`, this.pool.address, err));
  }

  // Takes the request an answer belongs to out of the in-flight map:
  // undefined when unknown, null for a late answer to a timed-out request.
  private match(head: Http1Head): Pending | null | undefined {
    const id = head.header["Micro-Id"];
    let p = id === undefined ? undefined : this.inflight.get(id);
    // One at a time (go-micro mode) or an untagged answer with one request out: it can only be that one.
    if (p === undefined && this.inflight.size === 1 && (id === undefined || this.pool.client.maxInFlight === 1)) {
      p = this.inflight.only();
    }
    if (p === undefined) return undefined;
    this.inflight.remove(p.id);
    if (!p.done) return p;
    this.zombies--;
    return null;
  }

  private afterAnswer(): void {
    if (!this.reusable) {
      if (this.inflight.size === 0) this.destroy(null);
      return;
    }
    this.pool.drain(this);
    if (this.inflight.size === 0) this.socket.unref();
  }

  private onSocketError(err: NodeJS.ErrnoException): void {
    if (this.error !== null) return;
    const address = this.pool.address;
    this.error = this.ready
      ? new TransportError("ECONNRESET", `connection to ${address} failed: ${err.message}`, address, err)
      : new TransportError(err.code ?? "ECONNREFUSED", `dial tcp ${address}: ${err.message}`, address, err);
  }

  /** Destroys the socket; in-flight requests fail with err, or ECONNRESET when null. */
  destroy(err: TransportError | null): void {
    if (this.error === null && err !== null) this.error = err;
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.dead) return;
    this.dead = true;
    this.parser.stop();
    if (this.dialTimer !== undefined) clearTimeout(this.dialTimer);
    const address = this.pool.address;
    if (!this.ready) {
      this.pool.removed(this, this.error ?? new TransportError("ECONNREFUSED", `dial tcp ${address}: connection closed`, address));
      return;
    }
    const err = this.error ?? new TransportError("ECONNRESET", `connection to ${address} closed`, address);
    for (const p of this.inflight.clear()) p.settle(err);
    this.pool.removed(this, null);
  }
}

function noop(): void {}

// Hands a promise's settle functions to its Pending without a closure per call.
// `binding` is set only while the executor runs, synchronously, inside
// promiseFor: it holds nothing between calls.
let binding: Pending | null = null;
function bindSettlers(resolve: (m: Message) => void, reject: (e: Error) => void): void {
  binding!.resolve = resolve;
  binding!.reject = reject;
}
function promiseFor(p: Pending): Promise<Message> {
  binding = p;
  const promise = new Promise<Message>(bindSettlers);
  binding = null;
  return promise;
}

function isReady(c: ClientConn): boolean {
  return c.usable;
}

function onDialTimeout(conn: ClientConn): void {
  conn.dialTimedOut();
}

function statusError(head: Http1Head, body: Buffer, address: string): TransportError {
  return new TransportError("EHTTPSTATUS", `${head.status}: ${body.toString("utf8")}`, address);
}
