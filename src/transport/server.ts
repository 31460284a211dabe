// The mucp transport server: accepts TCP connections and reads pipelined
// HTTP/1.1 requests, as go-micro's hijacked HTTP transport does. Answers are
// tagged by Micro-Id, so they may go out in any order.

import { createServer, type Server, type Socket } from "node:net";
import { joinHostPort, splitHostPort } from "../util/addr.js";
import {
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_HEADER_SIZE,
  FrameWriter,
  HeadTemplate,
  Http1Parser,
  responseTemplate,
  serializeErrorResponse,
  serializeResponseHead,
  type Http1Error,
  type Http1Head,
  type Http1Sink,
} from "./http1.js";
import type { Header, Message, MessageHandler, ServerConnection, TransportServer } from "./transport.js";
import { IdList } from "../util/idlist.js";

export type { MessageHandler, ServerConnection, TransportServer } from "./transport.js";

export interface ListenOptions {
  /** Largest request body accepted; bigger ones are skipped and answered with a 413 Micro-Error. Default 4 MiB. */
  maxBodySize?: number;
  /** Largest request head. Default 64 KiB. */
  maxHeaderSize?: number;
  /** Close connections with nothing in flight after this many ms without traffic. Default 0: never (as upstream). */
  idleTimeout?: number;
}

const DEFAULT_GRACE_MS = 5_000;
// Stop reading requests while this much output waits for a slow reader.
const WRITE_BACKLOG_LIMIT = 1024 * 1024;
// How long a connection ended after a protocol error may linger before it is destroyed.
const LINGER_MS = 1_000;
// How long answers may still be awaited after the peer stopped sending.
const HALF_OPEN_MS = 60_000;
const MAX_TEMPLATES = 16;

/** Binds `address` ("host:port", ":0", "127.0.0.1:0") and serves mucp messages to onMessage. */
export function listen(address: string, onMessage: MessageHandler, options: ListenOptions = {}): Promise<TransportServer> {
  let host: string;
  let port: number;
  try {
    ({ host, port } = splitHostPort(address));
  } catch (err) {
    return Promise.reject(err);
  }
  const server = new HttpTransportServer(onMessage, options);
  return server.listen(host, port).then(() => server);
}

class HttpTransportServer implements TransportServer {
  address = "";
  readonly onMessage: MessageHandler;
  readonly maxBodySize: number;
  readonly maxHeaderSize: number;
  readonly idleTimeout: number;
  readonly conns = new Set<Conn>();
  draining = false;
  private readonly server: Server;
  private closing: Promise<void> | undefined;

  constructor(onMessage: MessageHandler, options: ListenOptions) {
    this.onMessage = onMessage;
    this.maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    this.maxHeaderSize = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    this.idleTimeout = options.idleTimeout ?? 0;
    // allowHalfOpen: a peer that shuts down its sending side still gets the answers it is owed.
    this.server = createServer({ allowHalfOpen: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 }, (socket) => {
      if (this.draining) {
        socket.destroy();
        return;
      }
      this.conns.add(new Conn(this, socket));
    });
    // A failing accept must not take the process down; listen errors are reported by listen().
    this.server.on("error", () => {});
  }

  get connections(): number {
    return this.conns.size;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once("error", onError);
      const done = () => {
        this.server.off("error", onError);
        const a = this.server.address();
        if (a && typeof a === "object") this.address = joinHostPort(a.address, a.port);
        resolve();
      };
      if (host === "") this.server.listen(port, done);
      else this.server.listen(port, host, done);
    });
  }

  close(graceMs: number = DEFAULT_GRACE_MS): Promise<void> {
    if (this.closing) return this.closing;
    this.draining = true;
    this.closing = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const c of this.conns) c.destroy();
      }, Math.max(0, graceMs));
      let listenerClosed = false;
      this.onConnClosed = () => {
        if (!listenerClosed || this.conns.size > 0) return;
        clearTimeout(timer);
        resolve();
      };
      this.server.close(() => {
        listenerClosed = true;
        this.onConnClosed!();
      });
      for (const c of this.conns) c.drain();
    });
    return this.closing;
  }

  /** Set while closing: called whenever a connection goes away. */
  onConnClosed: (() => void) | undefined;
}

/** One accepted connection: parser sink and ServerConnection in one object. */
class Conn implements ServerConnection, Http1Sink {
  readonly local: string;
  readonly remote: string;
  private readonly server: HttpTransportServer;
  private readonly socket: Socket;
  private readonly parser: Http1Parser;
  private readonly writer: FrameWriter;
  // Headers of the first request, which every answer on this connection repeats (go-micro's rsp.Header = r.Header).
  private base: Header | null = null;
  // reply()'s heads by Content-Type: base is fixed per connection, so only lengths and ids vary.
  private readonly templates = new Map<string, HeadTemplate | null>();
  // Micro-Ids read and not yet answered: what "in flight" means for draining.
  private readonly outstanding = new IdList<string>();
  private ending = false;
  private closed = false;
  private paused = false;
  private peerEnded = false;

  constructor(server: HttpTransportServer, socket: Socket) {
    this.server = server;
    this.socket = socket;
    this.local = joinHostPort(socket.localAddress ?? "", socket.localPort ?? 0);
    this.remote = joinHostPort(socket.remoteAddress ?? "", socket.remotePort ?? 0);
    this.writer = new FrameWriter(socket);
    this.parser = new Http1Parser("request", this, {
      maxBodySize: server.maxBodySize,
      maxHeaderSize: server.maxHeaderSize,
    });
    socket.on("data", (chunk: Buffer) => this.parser.push(chunk));
    socket.on("end", () => {
      this.parser.end();
      this.peerEnded = true;
      if (this.outstanding.size === 0) this.end();
      else setTimeout(destroySocket, HALF_OPEN_MS, socket).unref();
    });
    socket.on("error", () => {}); // ECONNRESET and friends concern this connection only; 'close' cleans up
    socket.on("close", () => this.onClose());
    socket.on("drain", () => {
      if (this.paused) {
        this.paused = false;
        socket.resume();
      }
    });
    if (server.idleTimeout > 0) {
      socket.setTimeout(server.idleTimeout, () => {
        if (this.outstanding.size === 0 && !this.parser.midMessage) this.end();
      });
    }
  }

  send(msg: Message): void {
    if (this.closed || this.ending) return;
    let header = msg.header;
    const id = header["Micro-Id"];
    if (id !== undefined) {
      // Keep X-Micro-Id in step, or the first request's copy would answer for this one.
      if (header["X-Micro-Id"] !== id) header = { ...header, "X-Micro-Id": id };
    }
    this.answered(id);
    this.queue(serializeResponseHead(this.base, header, msg.body.length), msg.body);
  }

  reply(id: string, contentType: string | undefined, body: Buffer): void {
    if (this.closed || this.ending) return;
    const key = contentType ?? "";
    let t = this.templates.get(key);
    if (t === undefined) {
      // Few content types per connection; the bound only guards against a peer that sends a new one each time.
      if (this.templates.size >= MAX_TEMPLATES) this.templates.clear();
      this.templates.set(key, (t = responseTemplate(this.base, contentType)));
    }
    if (t === null) {
      const header: Header = { "Micro-Id": id, "X-Micro-Id": id };
      if (contentType !== undefined) header["Content-Type"] = contentType;
      return this.send({ header, body });
    }
    this.answered(id);
    this.writer.pushTemplate(t, body.length, id, id, body);
    this.afterQueue();
  }

  private answered(id: string | undefined): void {
    if (id !== undefined) this.outstanding.remove(id);
    else if (this.outstanding.size === 1) this.outstanding.clear();
  }

  private queue(head: string, body: Buffer): void {
    this.writer.push(head, body);
    this.afterQueue();
  }

  private afterQueue(): void {
    if (!this.paused && this.socket.writableLength > WRITE_BACKLOG_LIMIT) {
      this.paused = true;
      this.socket.pause();
    }
    if ((this.server.draining || this.peerEnded) && this.outstanding.size === 0) this.end();
  }

  close(): void {
    if (!this.closed && !this.ending) this.end();
  }

  onMessage(head: Http1Head, body: Buffer): void {
    const header = head.header;
    if (this.base === null) this.base = { ...header };
    const id = header["Micro-Id"] ?? "";
    this.outstanding.add(id, id);
    try {
      const r = this.server.onMessage({ header, body }, this) as unknown;
      if (r !== undefined && typeof (r as PromiseLike<unknown>).then === "function") {
        (r as PromiseLike<unknown>).then(undefined, (err: unknown) => this.handlerFailed(id, err));
      }
    } catch (err) {
      this.handlerFailed(id, err);
    }
  }

  onOversize(head: Http1Head, bodySize: number): void {
    if (this.base === null) this.base = { ...head.header };
    const detail = `request body of ${bodySize} bytes exceeds the limit of ${this.server.maxBodySize} bytes`;
    this.sendError(head.header["Micro-Id"], 413, detail, "Request Entity Too Large");
  }

  onError(err: Http1Error): void {
    this.writer.pushRaw(serializeErrorResponse(err.status, err.message));
    this.end();
  }

  // A handler that throws has not answered; say so rather than leave the caller waiting for its timeout.
  private handlerFailed(id: string, err: unknown): void {
    if (!this.outstanding.has(id)) return;
    const detail = err instanceof Error ? err.message : String(err);
    this.sendError(id === "" ? undefined : id, 500, detail, "Internal Server Error");
  }

  private sendError(id: string | undefined, code: number, detail: string, status: string): void {
    const error = JSON.stringify({ id: "go.micro.server", code, detail, status });
    const header: Header = { "Micro-Error": error, "X-Micro-Error": error };
    if (id !== undefined) header["Micro-Id"] = header["X-Micro-Id"] = id;
    this.send({ header, body: Buffer.alloc(0) });
  }

  /** Closes at once if idle, otherwise when the last outstanding answer is sent. */
  drain(): void {
    if (this.outstanding.size === 0) this.end();
  }

  // Flushes what is queued, sends FIN, and destroys the socket if the peer lingers.
  private end(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    this.parser.stop();
    this.writer.flush();
    this.socket.end();
    if (this.paused) this.socket.resume(); // keep reading (and discarding) so our FIN is not answered by RST
    setTimeout(destroySocket, LINGER_MS, this.socket).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onClose(): void {
    this.closed = true;
    this.parser.stop();
    this.server.conns.delete(this);
    this.server.onConnClosed?.();
  }
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
