// The reverse proxy of the HTTP front doors: micro web's /<name>/… and micro
// api's http, proxy and web handlers. Bodies stream both ways with back
// pressure; hop-by-hop headers stay on their hop; a backend that is down
// answers 502 and one that does not answer in time 504, as go-micro error
// JSON; a client that goes away cancels the backend request. WebSocket (any
// HTTP upgrade) is passed through raw once the backend agrees to it.
import { request as httpRequest, type Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { MicroError } from "../errors/errors.js";
import { splitHostPort } from "../util/addr.js";
import { writeError } from "./errors.js";

export interface ProxyTarget {
  /** host:port of the backend node. */
  address: string;
  /** Path and query to send, e.g. "/hello?x=1" (already stripped of any prefix). */
  path: string;
  /** Extra request headers, e.g. X-Micro-Web-Base-Path; they replace any the client sent. */
  headers?: Record<string, string>;
}

export interface ProxyOptions {
  /**
   * ms the backend has to start answering (response headers) after the last
   * request byte moved; then 504. A client whose request body stalls that long gets 408.
   */
  timeoutMs: number;
  /** The id of the error answers, e.g. go.micro.web. */
  id: string;
  /**
   * ms without a byte either way once the answer has started, after which both
   * sides are cut (nginx's proxy_read_timeout idea). Default 120 000 for requests,
   * 0 (never) for upgraded connections.
   */
  idleTimeoutMs?: number;
  /**
   * Another target to try when this one refused the connection (nothing was
   * sent yet, so any request may be retried); called at most once. Return
   * undefined to give up with 502.
   */
  next?: (err: Error) => ProxyTarget | undefined;
  /** Connection pooling; default none (a connection per request). */
  agent?: Agent | false;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1 plus the old proxy ones): never forwarded. */
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
  "te", "trailer", "trailers", "transfer-encoding", "upgrade",
]);

/** Connection failures that mean "nothing listens there": safe to try another node. */
const REFUSED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ENOTFOUND"]);

const DEFAULT_IDLE_MS = 120_000;

/** Headers named in the Connection header are hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const v of Array.isArray(value) ? value : value ? [value] : []) {
    for (const t of v.split(",")) if (t.trim()) out.add(t.trim().toLowerCase());
  }
  return out;
}

/**
 * The request headers for the backend: the client's, less hop-by-hop ones, Host
 * kept as the client sent it (as Go's httputil.ReverseProxy does, so a backend
 * can build absolute URLs), X-Forwarded-For appended to, X-Forwarded-Host and
 * X-Forwarded-Proto set, then the target's extra headers.
 */
function forwardHeaders(req: IncomingMessage, target: ProxyTarget, upgrade: string | undefined): Record<string, string | string[]> {
  const drop = connectionTokens(req.headers.connection);
  const out: Record<string, string | string[]> = {};
  const names = new Map<string, string>(); // lower → the case first seen
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop.has(lower) || lower === "x-forwarded-host" || lower === "x-forwarded-proto") continue;
    const key = names.get(lower);
    if (key === undefined) {
      names.set(lower, name);
      out[name] = raw[i + 1]!;
    } else {
      const prev = out[key]!;
      out[key] = Array.isArray(prev) ? [...prev, raw[i + 1]!] : [prev, raw[i + 1]!];
    }
  }
  const set = (name: string, value: string) => {
    const key = names.get(name.toLowerCase());
    if (key !== undefined && key !== name) delete out[key];
    names.set(name.toLowerCase(), name);
    out[name] = value;
  };
  const xffKey = names.get("x-forwarded-for");
  const prior = xffKey === undefined ? [] : ([] as string[]).concat(out[xffKey]!);
  const client = req.socket.remoteAddress ?? "";
  set("X-Forwarded-For", [...prior, ...(client ? [client] : [])].join(", "));
  if (req.headers.host) set("X-Forwarded-Host", req.headers.host);
  set("X-Forwarded-Proto", (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http");
  if (upgrade !== undefined) {
    set("Connection", "Upgrade");
    set("Upgrade", upgrade);
  }
  for (const [k, v] of Object.entries(target.headers ?? {})) set(k, v);
  return out;
}

/** The backend's response headers for the client, as a raw [name, value, …] list (keeps repeated Set-Cookie). */
function backHeaders(rsp: IncomingMessage, also: readonly string[] = []): string[] {
  const drop = connectionTokens(rsp.headers.connection);
  const out: string[] = [];
  const raw = rsp.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || drop.has(lower) || also.includes(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function requestOptions(req: IncomingMessage, target: ProxyTarget, opts: ProxyOptions, upgrade?: string) {
  const { host, port } = splitHostPort(target.address);
  return {
    host: host || "127.0.0.1",
    port,
    method: req.method,
    path: target.path.startsWith("/") ? target.path : `/${target.path}`,
    headers: forwardHeaders(req, target, upgrade),
    agent: upgrade !== undefined ? false : (opts.agent ?? false),
    setHost: false,
  };
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? "";
}

function describe(err: Error): string {
  const code = errorCode(err);
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

/**
 * Proxies one request to target and streams the answer back. Resolves when
 * the exchange is over (answered, failed or abandoned); never rejects.
 */
export function proxyRequest(req: IncomingMessage, res: ServerResponse, target: ProxyTarget, opts: ProxyOptions): Promise<void> {
  return new Promise<void>((resolve) => {
    const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_MS;
    let upstream: ClientRequest | undefined;
    let responded = false;
    let settled = false;
    let tried = 0;
    let bodyStarted = false;

    // One timer at a time: until the answer starts, the backend's deadline
    // (refreshed while the request body moves); after, the idle limit.
    let timer: NodeJS.Timeout | undefined;
    const touch = () => timer?.refresh();
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      timer = undefined; // a late touch() must not re-arm it
      resolve();
    };
    const fail = (err: MicroError) => {
      clearTimeout(timer);
      timer = undefined;
      upstream?.destroy();
      req.resume(); // drain what the client still sends, so the answer can go out
      writeError(res, err, opts.id);
    };
    const onTimeout = () => {
      if (settled) return;
      if (responded) {
        // Idle after the answer started: cut both sides.
        upstream?.destroy();
        res.destroy();
        return;
      }
      if (bodyStarted && !req.readableEnded) {
        fail(new MicroError(opts.id, 408, `request body not received within ${opts.timeoutMs} ms`));
      } else {
        fail(new MicroError(opts.id, 504, `${target.address} did not answer within ${opts.timeoutMs} ms`));
      }
    };
    timer = setTimeout(onTimeout, opts.timeoutMs);

    // The client went away (or the answer is complete): nothing more to do.
    res.once("close", () => {
      if (!res.writableFinished) upstream?.destroy();
      settle();
    });
    req.on("error", () => upstream?.destroy());

    const send = (t: ProxyTarget) => {
      tried++;
      target = t;
      let connected = false;
      let options;
      try {
        options = requestOptions(req, t, opts);
      } catch (err) {
        return fail(new MicroError(opts.id, 502, `bad backend address ${JSON.stringify(t.address)}: ${(err as Error).message}`));
      }
      const up = httpRequest(options);
      upstream = up;
      // The body flows only once connected: a refused connection has consumed
      // nothing, so another node can be tried with the whole request.
      up.once("socket", (socket) => {
        const onConnect = () => {
          if (upstream !== up || settled) return;
          connected = true;
          bodyStarted = true;
          touch();
          req.on("data", touch);
          req.pipe(up);
        };
        if (socket.connecting) socket.once("connect", onConnect);
        else onConnect();
      });
      up.on("error", (err) => {
        if (upstream !== up || settled || res.destroyed) return;
        if (responded) {
          res.destroy();
          return;
        }
        if (!connected && REFUSED.has(errorCode(err)) && tried === 1 && opts.next) {
          const other = opts.next(err);
          if (other) {
            touch();
            return send(other);
          }
        }
        fail(new MicroError(opts.id, 502, `${t.address}: ${describe(err)}`));
      });
      up.on("response", (rsp) => {
        if (upstream !== up || settled) {
          rsp.resume();
          return;
        }
        responded = true;
        clearTimeout(timer);
        timer = idleMs > 0 ? setTimeout(onTimeout, idleMs) : undefined;
        rsp.on("data", touch);
        rsp.on("error", () => res.destroy());
        rsp.on("close", () => {
          if (!rsp.complete) res.destroy(); // the backend went away mid-answer: the client learns from the cut
        });
        try {
          res.writeHead(rsp.statusCode ?? 502, rsp.statusMessage, backHeaders(rsp));
        } catch (err) {
          // A header the backend may send but Node will not write (invalid characters).
          rsp.resume();
          responded = false;
          return fail(new MicroError(opts.id, 502, `${t.address} answered with an invalid header: ${(err as Error).message}`));
        }
        rsp.pipe(res);
      });
    };
    send(target);
  });
}

/**
 * Proxies an HTTP upgrade (WebSocket) to target: the backend's 101 goes back
 * with its headers and from then on bytes are piped raw both ways. A backend
 * that cannot be reached gets the client a 502 (504 when it does not answer in
 * time) and the socket is closed. Resolves when both sides are closed.
 */
export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget, opts: ProxyOptions): Promise<void> {
  return new Promise<void>((resolve) => {
    socket.on("error", () => {});
    let upstream: ClientRequest | undefined;
    let upgraded = false;
    let settled = false;
    let tried = 0;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve();
    };
    const refuse = (err: MicroError) => {
      clearTimeout(timer);
      upstream?.destroy();
      if (socket.destroyed) return settle();
      const body = JSON.stringify(err);
      const status = `${err.code} ${err.status}`;
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      // end() flushes first; a peer that does not read must not keep it open.
      setTimeout(() => socket.destroy(), 1_000).unref();
    };
    const timer = setTimeout(() => {
      if (!upgraded) refuse(new MicroError(opts.id, 504, `${target.address} did not answer within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    socket.once("close", () => {
      if (!upgraded) upstream?.destroy();
      settle();
    });

    const upgrade = String(req.headers.upgrade ?? "websocket");
    const send = (t: ProxyTarget) => {
      tried++;
      target = t;
      let options;
      try {
        options = requestOptions(req, t, opts, upgrade);
      } catch (err) {
        return refuse(new MicroError(opts.id, 502, `bad backend address ${JSON.stringify(t.address)}: ${(err as Error).message}`));
      }
      const up = httpRequest(options);
      upstream = up;
      up.on("error", (err) => {
        if (upstream !== up || upgraded || settled) return;
        if (REFUSED.has(errorCode(err)) && tried === 1 && opts.next) {
          const other = opts.next(err);
          if (other) return send(other);
        }
        refuse(new MicroError(opts.id, 502, `${t.address}: ${describe(err)}`));
      });
      up.on("upgrade", (rsp, back, backHead) => {
        if (upstream !== up || socket.destroyed) {
          back.destroy();
          return;
        }
        upgraded = true;
        clearTimeout(timer);
        back.on("error", () => {});
        let head101 = `HTTP/1.1 ${rsp.statusCode ?? 101} ${rsp.statusMessage || "Switching Protocols"}\r\n`;
        const raw = rsp.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) head101 += `${raw[i]}: ${raw[i + 1]}\r\n`;
        socket.write(head101 + "\r\n");
        if (backHead.length > 0) socket.write(backHead);
        if (head.length > 0) back.write(head);
        const close = () => {
          socket.destroy();
          back.destroy();
        };
        socket.on("close", close).on("end", () => back.end());
        back.on("close", close).on("end", () => socket.end());
        const idleMs = opts.idleTimeoutMs ?? 0;
        if (idleMs > 0) {
          const idle = setTimeout(close, idleMs);
          const touch = () => idle.refresh();
          socket.on("data", touch);
          back.on("data", touch);
          back.once("close", () => clearTimeout(idle));
        }
        socket.pipe(back);
        back.pipe(socket);
      });
      up.on("response", (rsp) => {
        // The backend answered without switching: pass its answer on, then close.
        if (upstream !== up || settled || socket.destroyed) {
          rsp.resume();
          return;
        }
        clearTimeout(timer);
        let text = `HTTP/1.1 ${rsp.statusCode} ${rsp.statusMessage}\r\n`;
        const h = backHeaders(rsp, ["content-length"]);
        for (let i = 0; i < h.length; i += 2) text += `${h[i]}: ${h[i + 1]}\r\n`;
        socket.write(`${text}Connection: close\r\n\r\n`);
        rsp.on("error", () => socket.destroy());
        rsp.pipe(socket);
      });
      up.end();
    };
    send(target);
  });
}

/** Whether a request asks to switch protocols (Connection: upgrade plus an Upgrade header). */
export function isUpgrade(req: IncomingMessage): boolean {
  return req.headers.upgrade !== undefined && connectionTokens(req.headers.connection).has("upgrade");
}
