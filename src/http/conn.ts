// The lean front of micro api: HTTP/1.1 connections served straight from the
// socket with the mucp transport's parser and batched writer, for requests
// that are buffered exchanges (the gateway's calls): node:http's request and
// response objects cost about as much CPU as the rest of such a call
// (docs/performance.md). The first request that is not one (a proxied route,
// an upgrade, Expect: 100-continue, a target that is not a path) hands the
// connection, from that request's first byte on, to node:http for good.
import type { Socket } from "node:net";
import { STATUS_CODES } from "node:http";
import { FrameWriter, Http1Parser, type Http1Error, type Http1Head, type Http1Sink } from "../transport/http1.js";
import { MicroError } from "../errors/errors.js";
import { perSecond } from "../util/persecond.js";
import { errorAnswer, firstValues, type BufferedHandler, type HttpAnswer, type HttpRequest } from "./exchange.js";

/** What the lean front serves, and how. */
export interface ExchangeFront {
  /** For a request head: the handler of its buffered exchange, or undefined to serve it on node:http. */
  plan(method: string, url: string, host: string): BufferedHandler | undefined;
  /** Headers every answer carries (CORS), for the request's Origin. */
  headersFor?(origin: string | undefined): string[] | undefined;
  /** After each answer is queued: the access log. */
  answered?(req: HttpRequest, status: number, size: number): void;
  /** Body limit (bytes) and deadline (ms), and the id of the front's own error answers. */
  readonly limits: { maxBytes: number; timeoutMs: number; id: string };
}

/** The deadlines, read each sweep from the node:http server so that one setting governs both fronts. */
export interface ConnTimeouts {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
}

/** The connections of one listener, with a coarse clock that one sweep a second advances. */
export class ConnSet {
  readonly conns = new Set<ExchangeConn>();
  now = Date.now();
  readonly #timer: NodeJS.Timeout;

  constructor(readonly front: ExchangeFront, readonly timeouts: ConnTimeouts, readonly handOver: (socket: Socket) => void) {
    this.#timer = setInterval(() => {
      this.now = Date.now();
      for (const c of this.conns) c.sweep(this.now);
    }, SWEEP_MS);
    this.#timer.unref();
  }

  serve(socket: Socket): void {
    this.conns.add(new ExchangeConn(this, socket));
  }

  /** Closes idle connections now and the others once their answers are out; takes no new requests. */
  drain(): void {
    clearInterval(this.#timer);
    for (const c of this.conns) c.drain();
  }
}

const SWEEP_MS = 1_000;
// Stop reading while this much output waits for a slow reader, or this many answers are owed;
// and run at most MAX_PIPELINED handlers of one connection at once (a chunk may hold hundreds of requests).
const WRITE_BACKLOG_LIMIT = 1024 * 1024;
const MAX_PIPELINED = 16;
const LINGER_MS = 1_000;
const MAX_HEADER_SIZE = 16 * 1024; // node:http's default, so both fronts refuse the same heads
const EMPTY = Buffer.alloc(0);

interface Slot {
  req: HttpRequest;
  answer: HttpAnswer | undefined;
  /** Close the connection after this answer. */
  close: boolean;
  /** The handler, until it is started. */
  waiting: BufferedHandler | undefined;
}

class ExchangeConn implements Http1Sink {
  readonly #set: ConnSet;
  readonly #socket: Socket;
  readonly #parser: Http1Parser;
  readonly #writer: FrameWriter;
  readonly #remote: string;
  /** Answers owed, in request order. */
  readonly #slots: Slot[] = [];
  /** The request whose head was read and whose body is coming. */
  #handler: BufferedHandler | undefined;
  #headers: Record<string, string | undefined> = {};
  /** Coarse time the message being read began (0: none), and whether its head is in. */
  #started = 0;
  #inBody = false;
  /** Requests opened so far: tells a new message from the one that was being read. */
  #opened = 0;
  #lastActive: number;
  /** Handlers started and not yet answered. */
  #running = 0;
  #starting = false;
  #paused = false;
  #handingOver = false;
  /** No new requests; close once the answers owed are out. */
  #draining = false;
  #ending = false;

  constructor(set: ConnSet, socket: Socket) {
    this.#set = set;
    this.#socket = socket;
    this.#remote = socket.remoteAddress ?? "";
    this.#lastActive = set.now;
    socket.setNoDelay(true);
    this.#writer = new FrameWriter(socket);
    this.#parser = new Http1Parser("request", this, { maxHeaderSize: MAX_HEADER_SIZE, maxBodySize: set.front.limits.maxBytes, rawHeaders: true });
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("error", noop); // ECONNRESET and friends concern this connection only; 'close' cleans up
    socket.on("close", this.#onClose);
    socket.on("drain", this.#onDrain);
  }

  readonly #onData = (chunk: Buffer): void => {
    const opened = this.#opened;
    const wasIdle = !this.#parser.midMessage;
    this.#lastActive = this.#set.now;
    this.#parser.push(chunk);
    if (this.#handingOver) {
      this.#socket.pause(); // what comes next is node:http's, 'end' included
      return this.#handOverWhenAnswered();
    }
    if (!this.#parser.midMessage) this.#started = 0;
    else if (wasIdle || this.#opened !== opened) this.#started = this.#set.now;
    if (!this.#paused && this.#slots.length >= MAX_PIPELINED) this.#pause();
  };

  readonly #onEnd = (): void => {
    this.#parser.end();
    if (this.#slots.length === 0) this.#end();
  };

  readonly #onClose = (): void => {
    this.#ending = true;
    this.#slots.length = 0;
    this.#parser.stop();
    this.#set.conns.delete(this);
  };

  readonly #onDrain = (): void => {
    if (this.#paused && this.#slots.length < MAX_PIPELINED) this.#resume();
  };

  // ---- the parser's sink

  onHead(head: Http1Head): boolean {
    const headers = firstValues(head.raw!);
    // node:http's: anything that streams or that it answers itself (100 Continue; 400 for an HTTP/1.1 request without Host).
    const nodes =
      head.target.charCodeAt(0) !== 47 /* / */ ||
      headers.expect !== undefined ||
      headers.upgrade !== undefined ||
      head.method === "CONNECT" ||
      (headers.host === undefined && !head.http10);
    const handler = nodes ? undefined : this.#set.front.plan(head.method, head.target, headers.host ?? "");
    if (handler === undefined) {
      this.#handingOver = true;
      return false;
    }
    this.#handler = handler;
    this.#headers = headers;
    this.#inBody = true;
    return true;
  }

  onMessage(head: Http1Head, body: Buffer): void {
    const slot = this.#open(head, body);
    slot.waiting = this.#handler;
    this.#handler = undefined;
    this.#startWaiting();
  }

  /** Starts waiting handlers, in request order, while fewer than MAX_PIPELINED run. */
  #startWaiting(): void {
    if (this.#starting) return; // a handler that answered at once: the loop below goes on
    this.#starting = true;
    try {
      while (this.#running < MAX_PIPELINED) {
        const slot = this.#slots.find((s) => s.waiting !== undefined);
        if (slot === undefined) return;
        const handler = slot.waiting!;
        slot.waiting = undefined;
        this.#running++;
        this.#run(slot, handler);
      }
    } finally {
      this.#starting = false;
    }
  }

  #run(slot: Slot, handler: BufferedHandler): void {
    const done = (a: HttpAnswer) => {
      this.#running--;
      this.#settle(slot, a);
      this.#startWaiting();
    };
    const failed = (err: unknown) => done(errorAnswer(err, this.#set.front.limits.id));
    let result: HttpAnswer | Promise<HttpAnswer>;
    try {
      result = handler(slot.req);
    } catch (err) {
      return failed(err);
    }
    if (result instanceof Promise) result.then(done, failed);
    else done(result);
  }

  onOversize(head: Http1Head, bodySize: number): void {
    const { maxBytes, id } = this.#set.front.limits;
    const slot = this.#open(head, EMPTY);
    this.#handler = undefined;
    this.#settle(slot, errorAnswer(new MicroError(id, 413, `request body of ${bodySize} bytes is over the limit of ${maxBytes}`), id));
  }

  onError(err: Http1Error): void {
    // The parser takes nothing more: answer, then close.
    this.#failRequest(err.status, err.message);
  }

  // ---- answers

  #open(head: Http1Head, body: Buffer): Slot {
    this.#inBody = false;
    this.#opened++;
    const req: HttpRequest = {
      method: head.method,
      url: head.target,
      httpVersion: head.http10 ? "1.0" : "1.1",
      headers: this.#headers,
      rawHeaders: head.raw!,
      remoteAddress: this.#remote,
      body,
    };
    const slot: Slot = { req, answer: undefined, close: head.close, waiting: undefined };
    this.#slots.push(slot);
    return slot;
  }

  /** An answer for a request that cannot be read on (bad framing, a deadline): it goes last, and the connection closes. */
  #failRequest(status: number, detail: string): void {
    if (this.#ending) return;
    const id = this.#set.front.limits.id;
    this.#parser.stop();
    const req: HttpRequest = { method: "-", url: "-", httpVersion: "1.1", headers: this.#headers, rawHeaders: [], remoteAddress: this.#remote, body: EMPTY };
    this.#slots.push({ req, answer: errorAnswer(new MicroError(id, status, detail), id), close: true, waiting: undefined });
    this.#flushSlots();
  }

  #settle(slot: Slot, answer: HttpAnswer): void {
    slot.answer = answer;
    if (this.#slots[0] === slot) this.#flushSlots();
  }

  /** Writes the answers that are ready, in request order. */
  #flushSlots(): void {
    const slots = this.#slots;
    while (slots.length > 0 && slots[0]!.answer !== undefined && !this.#ending) {
      const slot = slots.shift()!;
      // The last answer before a close says so: the client's Connection: close, a drain, or a peer that stopped sending.
      const close = slot.close || (slots.length === 0 && (this.#draining || (this.#parser.done && !this.#handingOver)));
      this.#write(slot.req, slot.answer!, close);
      if (close) return this.#end();
    }
    if (this.#ending) return;
    if (this.#handingOver) return this.#handOverWhenAnswered();
    this.#lastActive = this.#set.now;
    if (this.#paused && slots.length < MAX_PIPELINED && this.#socket.writableLength <= WRITE_BACKLOG_LIMIT) this.#resume();
    else if (!this.#paused && this.#socket.writableLength > WRITE_BACKLOG_LIMIT) this.#pause();
  }

  #write(req: HttpRequest, answer: HttpAnswer, close: boolean): void {
    const id = this.#set.front.limits.id;
    const extra = this.#set.front.headersFor?.(req.headers.origin);
    let a = answer;
    let head: { head: string; latin1: boolean };
    try {
      head = serializeHead(a, extra, req, close);
    } catch (err) {
      // A handler's header that HTTP cannot carry (a backend's answer with CR or LF in it).
      a = errorAnswer(new MicroError(id, 500, `bad answer: ${(err as Error).message}`), id);
      head = serializeHead(a, extra, req, close);
    }
    const body = typeof a.body === "string" ? Buffer.from(a.body) : a.body;
    const sent = req.method === "HEAD" || bodiless(a.status) ? EMPTY : body;
    if (head.latin1) this.#writer.push("", Buffer.concat([Buffer.from(head.head, "latin1"), sent]));
    else this.#writer.push(head.head, sent);
    if (req.method !== "-") this.#set.front.answered?.(req, a.status, body.length);
  }

  // ---- flow

  #pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  #resume(): void {
    this.#paused = false;
    this.#socket.resume();
  }

  /** Once every answer owed is out, gives node:http the socket and the bytes from the handed-over request on. */
  #handOverWhenAnswered(): void {
    if (this.#slots.length > 0 || this.#ending) return;
    const socket = this.#socket;
    socket.pause();
    this.#writer.flush(); // our answers go out before node:http writes any
    socket.off("data", this.#onData).off("end", this.#onEnd).off("error", noop).off("close", this.#onClose).off("drain", this.#onDrain);
    this.#set.conns.delete(this);
    socket.unshift(this.#parser.rest);
    this.#set.handOver(socket);
    socket.resume();
  }

  /** Called once a second with the coarse clock: the deadlines of a request being read, and idle keep-alive. */
  sweep(now: number): void {
    if (this.#ending || this.#handingOver) return;
    const t = this.#set.timeouts;
    if (this.#started > 0) {
      const limit = this.#inBody ? Math.min(this.#set.front.limits.timeoutMs, t.requestTimeout || Infinity) : t.headersTimeout;
      if (limit > 0 && now - this.#started > limit) {
        this.#started = 0;
        this.#failRequest(408, `request ${this.#inBody ? "body" : "head"} not received within ${limit} ms`);
      }
    } else if (this.#slots.length === 0 && t.keepAliveTimeout > 0 && now - this.#lastActive >= t.keepAliveTimeout) {
      this.#end();
    }
  }

  drain(): void {
    if (this.#ending || this.#handingOver) return;
    this.#parser.stop();
    this.#draining = true;
    if (this.#slots.length === 0) this.#end();
  }

  /** Flushes what is queued, sends FIN, and destroys the socket if the peer lingers. Answers still owed are dropped. */
  #end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#slots.length = 0;
    this.#parser.stop();
    this.#writer.flush();
    this.#socket.end();
    if (this.#paused) this.#socket.resume(); // keep reading (and discarding) so our FIN is not answered by RST
    setTimeout(destroy, LINGER_MS, this.#socket).unref();
  }
}

function noop(): void {}

function destroy(socket: Socket): void {
  socket.destroy();
}

const bodiless = (status: number): boolean => status === 204 || status === 304 || status < 200;

// Header values as node:http takes them: no control characters but tab, and
// nothing above 0xff; node:http sends them as latin1, and so do we.
const ASCII_VALUE = /^[\t\x20-\x7e]*$/;
const LATIN1_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The answer's head; `latin1` when a value has bytes above 0x7f (the writer encodes strings as UTF-8). */
function serializeHead(a: HttpAnswer, extra: string[] | undefined, req: HttpRequest, close: boolean): { head: string; latin1: boolean } {
  const status = a.status;
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new Error(`invalid status ${status}`);
  const lines = { text: `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`, latin1: false };
  addHeaders(lines, a.headers);
  if (extra) addHeaders(lines, extra);
  let head = lines.text;
  if (!bodiless(status)) head += `Content-Length: ${typeof a.body === "string" ? Buffer.byteLength(a.body) : a.body.length}\r\n`;
  head += `Date: ${httpDate()}\r\n`;
  if (close) head += "Connection: close\r\n";
  else if (req.httpVersion === "1.0") head += "Connection: keep-alive\r\n";
  return { head: head + "\r\n", latin1: lines.latin1 };
}

function addHeaders(lines: { text: string; latin1: boolean }, h: readonly string[]): void {
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    const value = h[i + 1]!;
    if (!TOKEN.test(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
    if (!ASCII_VALUE.test(value)) {
      if (!LATIN1_VALUE.test(value)) throw new Error(`invalid value for header ${name}`);
      lines.latin1 = true;
    }
    lines.text += `${name}: ${value}\r\n`;
  }
}

const httpDate = perSecond((ms) => new Date(ms).toUTCString());
