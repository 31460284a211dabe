// HTTP/1.1 framing for mucp: an incremental parser for requests and responses,
// serialisers that write the bytes Go's Request.Write / Response.Write produce,
// and a per-socket writer that batches frames into few syscalls.

import type { Socket } from "node:net";
import type { Header, Message } from "./transport.js";
import { canonicalKey, isHeaderKey, isToken } from "../metadata/metadata.js";

export const DEFAULT_USER_AGENT = "micro-ts/0.1";
export const DEFAULT_MAX_HEADER_SIZE = 64 * 1024;
export const DEFAULT_MAX_BODY_SIZE = 4 * 1024 * 1024;

const CRLF = Buffer.from("\r\n");
const CRLFCRLF = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);
const MAX_CHUNK_LINE = 4096;

// ---------------------------------------------------------------- parser

// Valid header names seen → canonical form. The same dozen names arrive on
// every message; a hit skips the per-byte checks. A pure memo, bounded.
const KEY_CACHE = new Map<string, string>();
const KEY_CACHE_MAX = 512;

export interface Http1Head {
  /** Request method; "" for responses. */
  method: string;
  /** Request target; "" for responses. */
  target: string;
  /** Response status code; 0 for requests. */
  statusCode: number;
  /** Go's Response.Status: the status line minus the protocol, e.g. "200 OK". */
  status: string;
  /** First value per canonical key. Requests lose Host (as in Go); Transfer-Encoding is dropped. */
  header: Header;
  /** The peer will close after this message (Connection: close, or HTTP/1.0 without keep-alive). */
  close: boolean;
  /** HTTP/1.0 rather than 1.1. */
  http10: boolean;
  /** With the rawHeaders option: every header line as sent, name, value, name, value… (header is then left empty). */
  raw?: string[];
}

export class Http1Error extends Error {
  readonly code = "EPROTO";
  /** The HTTP status a server should answer with. */
  readonly status: number;

  constructor(message: string, status = 400) {
    super(message);
    this.name = "Http1Error";
    this.status = status;
  }
}

/** Receives what the parser finds. Implemented by the connection objects, so no per-message closures. */
export interface Http1Sink {
  /**
   * A request head was read, before its body. Returning false stops the
   * parser; Http1Parser.rest then holds this message's bytes and everything
   * after it that was pushed, for another parser to take over.
   */
  onHead?(head: Http1Head): boolean;
  onMessage(head: Http1Head, body: Buffer): void;
  /** A body over maxBodySize was skipped without buffering; bodySize is its full length. */
  onOversize(head: Http1Head, bodySize: number): void;
  /** Unparsable input; the parser accepts nothing more. */
  onError(err: Http1Error): void;
}

export interface Http1ParserOptions {
  maxHeaderSize?: number;
  maxBodySize?: number;
  /** Only these (canonical) header keys are kept in Http1Head.header; framing still uses all. Default: all. */
  keepHeaders?: ReadonlySet<string>;
  /** Keep every header line as sent in Http1Head.raw (Host and repeats included) instead of filling Http1Head.header: what an HTTP gateway needs. */
  rawHeaders?: boolean;
}

const enum State {
  Head,
  Body,
  ChunkLine,
  ChunkData,
  ChunkCrlf,
  Trailers,
  UntilEof,
  Done,
}

/**
 * Parses a stream of HTTP/1.x requests (kind "request") or responses
 * ("response") fed in arbitrary chunks. Never throws from push/end: bad
 * input and sink failures become one onError call.
 */
export class Http1Parser {
  private readonly response: boolean;
  private readonly sink: Http1Sink;
  private readonly maxHeader: number;
  private readonly maxBody: number;
  private readonly keep: ReadonlySet<string> | undefined;
  private readonly raw: boolean;
  private state = State.Head;
  /** After a sink's onHead said no: the bytes not consumed, from that message's first byte on. */
  rest: Buffer = EMPTY;
  private head: Http1Head | null = null;
  // Framing decided by the head being parsed.
  private framedLength = 0;
  private chunked = false;
  // Body progress.
  private remaining = 0;
  private bodySize = 0;
  private skipping = false;
  private bodyBuf: Buffer | null = null;
  private bodyOff = 0;
  private pieces: Buffer[] = [];
  private crlfSeen = 0;
  // Unterminated head / line bytes kept as pieces so a slow sender costs no re-copying.
  private parts: Buffer[] = [];
  private partsLen = 0;
  private tail: Buffer = EMPTY;

  constructor(kind: "request" | "response", sink: Http1Sink, options: Http1ParserOptions = {}) {
    this.response = kind === "response";
    this.sink = sink;
    this.maxHeader = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    this.maxBody = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    this.keep = options.keepHeaders;
    this.raw = options.rawHeaders === true;
  }

  /** True once failed or stopped. */
  get done(): boolean {
    return this.state === State.Done;
  }

  /** True while part of a message has been seen. */
  get midMessage(): boolean {
    return this.state !== State.Head ? this.state !== State.Done : this.partsLen > 0;
  }

  push(chunk: Buffer): void {
    if (this.state === State.Done) return;
    try {
      let pos = 0;
      const len = chunk.length;
      while (pos < len) {
        switch (this.state) {
          case State.Head: pos = this.readHead(chunk, pos); break;
          case State.Body: pos = this.readBody(chunk, pos); break;
          case State.ChunkLine: pos = this.readChunkLine(chunk, pos); break;
          case State.ChunkData: pos = this.readChunkData(chunk, pos); break;
          case State.ChunkCrlf: pos = this.readChunkCrlf(chunk, pos); break;
          case State.Trailers: pos = this.readTrailers(chunk, pos); break;
          case State.UntilEof: this.addPiece(chunk, pos, len); pos = len; break;
          default: return;
        }
      }
    } catch (err) {
      this.fail(err instanceof Http1Error ? err : new Http1Error(`internal error: ${(err as Error)?.message ?? err}`, 500));
    }
  }

  /** The peer finished sending: completes a read-until-close body or reports a truncated message. */
  end(): void {
    if (this.state === State.UntilEof) {
      const head = this.head!;
      this.state = State.Done;
      try {
        if (this.skipping) this.sink.onOversize(head, this.bodySize);
        else this.sink.onMessage(head, this.joinPieces());
      } catch {
        // The connection is ending anyway.
      }
    } else if (this.midMessage) {
      this.fail(new Http1Error("unexpected EOF in the middle of a message"));
    }
    this.stop();
  }

  /** Ignores all further input. */
  stop(): void {
    this.state = State.Done;
    this.head = null;
    this.bodyBuf = null;
    this.pieces = [];
    this.parts = [];
    this.partsLen = 0;
    this.tail = EMPTY;
  }

  private fail(err: Http1Error): void {
    if (this.state === State.Done) return;
    this.stop();
    try {
      this.sink.onError(err);
    } catch {
      // Nothing left to tell.
    }
  }

  // Finds `term` starting at data[pos], also when it straddles earlier pieces.
  // Returns the index just past it in data, or -1 after stashing data[pos:].
  private scan(data: Buffer, pos: number, term: Buffer): number {
    const tl = this.tail.length;
    if (tl > 0) {
      const probe = Buffer.concat([this.tail, data.subarray(pos, pos + term.length - 1)]);
      const i = probe.indexOf(term);
      if (i >= 0) return pos + i + term.length - tl;
    }
    const j = data.indexOf(term, pos);
    if (j >= 0) return j + term.length;
    this.parts.push(data.subarray(pos));
    this.partsLen += data.length - pos;
    const keep = term.length - 1;
    this.tail = data.length - pos >= keep
      ? Buffer.from(data.subarray(data.length - keep))
      : Buffer.concat([this.tail, data.subarray(pos)]).subarray(-keep);
    return -1;
  }

  // Everything stashed plus data[pos:end], as one buffer.
  private take(data: Buffer, pos: number, end: number): Buffer {
    this.tail = EMPTY;
    if (this.partsLen === 0) return data.subarray(pos, end);
    this.parts.push(data.subarray(pos, end));
    const out = Buffer.concat(this.parts, this.partsLen + end - pos);
    this.parts = [];
    this.partsLen = 0;
    return out;
  }

  private readHead(data: Buffer, pos: number): number {
    const len = data.length;
    if (this.partsLen === 0) {
      // Tolerate stray CRLFs between messages, as RFC 7230 §3.5 suggests.
      while (pos < len && (data[pos] === 13 || data[pos] === 10)) pos++;
      if (pos === len) return len;
    }
    const end = this.scan(data, pos, CRLFCRLF);
    if (end < 0) {
      if (this.partsLen > this.maxHeader) throw new Http1Error("header block too large", 431);
      return len;
    }
    const raw = this.take(data, pos, end);
    if (raw.length > this.maxHeader) throw new Http1Error("header block too large", 431);
    const head = this.parseHead(raw.toString("utf8", 0, raw.length - 4));
    if (this.sink.onHead !== undefined && !this.sink.onHead(head)) {
      const rest = Buffer.concat([raw, data.subarray(end)]);
      this.stop();
      this.rest = rest;
      return len;
    }
    this.head = head;
    this.skipping = false;
    this.bodySize = 0;
    if (this.chunked) {
      this.state = State.ChunkLine;
    } else if (this.framedLength > 0) {
      this.state = State.Body;
      this.remaining = this.bodySize = this.framedLength;
      this.skipping = this.framedLength > this.maxBody;
      this.bodyBuf = null;
      this.bodyOff = 0;
    } else if (this.framedLength === 0) {
      this.emit(EMPTY);
    } else {
      this.state = State.UntilEof;
    }
    return end;
  }

  private readBody(data: Buffer, pos: number): number {
    const avail = data.length - pos;
    const n = avail < this.remaining ? avail : this.remaining;
    if (!this.skipping) {
      if (this.bodyBuf === null) {
        if (n === this.remaining) {
          // The whole body sits in this chunk: hand out a view, no copy.
          this.remaining = 0;
          this.emit(data.subarray(pos, pos + n));
          return pos + n;
        }
        this.bodyBuf = Buffer.allocUnsafe(this.remaining);
      }
      data.copy(this.bodyBuf, this.bodyOff, pos, pos + n);
      this.bodyOff += n;
    }
    this.remaining -= n;
    if (this.remaining === 0) {
      const body = this.bodyBuf ?? EMPTY;
      this.bodyBuf = null;
      this.emit(body);
    }
    return pos + n;
  }

  private readChunkLine(data: Buffer, pos: number): number {
    const end = this.scan(data, pos, CRLF);
    if (end < 0) {
      if (this.partsLen > MAX_CHUNK_LINE) throw new Http1Error("chunk size line too long");
      return data.length;
    }
    const line = this.take(data, pos, end);
    let size = 0;
    let digits = 0;
    let i = 0;
    for (; i < line.length - 2; i++) {
      const c = line[i]!;
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      if (++digits > 12) throw new Http1Error("chunk too large");
      size = size * 16 + d;
    }
    const next = line[i];
    if (digits === 0 || (i < line.length - 2 && next !== 59 /* ; */ && next !== 32 && next !== 9)) {
      throw new Http1Error("malformed chunk size");
    }
    if (size === 0) {
      // Seed with the CRLF just read so an empty trailer section is found as CRLFCRLF.
      this.tail = CRLF;
      this.state = State.Trailers;
      return end;
    }
    this.bodySize += size;
    if (!this.skipping && this.bodySize > this.maxBody) {
      this.skipping = true;
      this.pieces = [];
    }
    this.remaining = size;
    this.state = State.ChunkData;
    return end;
  }

  private readChunkData(data: Buffer, pos: number): number {
    const avail = data.length - pos;
    const n = avail < this.remaining ? avail : this.remaining;
    if (!this.skipping) this.pieces.push(data.subarray(pos, pos + n));
    this.remaining -= n;
    if (this.remaining === 0) {
      this.state = State.ChunkCrlf;
      this.crlfSeen = 0;
    }
    return pos + n;
  }

  private readChunkCrlf(data: Buffer, pos: number): number {
    while (pos < data.length && this.crlfSeen < 2) {
      if (data[pos] !== (this.crlfSeen === 0 ? 13 : 10)) throw new Http1Error("missing CRLF after chunk data");
      pos++;
      this.crlfSeen++;
    }
    if (this.crlfSeen === 2) this.state = State.ChunkLine;
    return pos;
  }

  private readTrailers(data: Buffer, pos: number): number {
    const end = this.scan(data, pos, CRLFCRLF);
    if (end < 0) {
      if (this.partsLen > this.maxHeader) throw new Http1Error("trailer block too large", 431);
      return data.length;
    }
    this.take(data, pos, end); // trailers carry nothing mucp uses
    this.emit(this.skipping ? EMPTY : this.joinPieces());
    return end;
  }

  private addPiece(data: Buffer, pos: number, end: number): void {
    this.bodySize += end - pos;
    if (this.skipping) return;
    if (this.bodySize > this.maxBody) {
      this.skipping = true;
      this.pieces = [];
      return;
    }
    this.pieces.push(data.subarray(pos, end));
  }

  private joinPieces(): Buffer {
    const p = this.pieces;
    this.pieces = [];
    return p.length === 0 ? EMPTY : p.length === 1 ? p[0]! : Buffer.concat(p);
  }

  // Completes the current message; the state is reset first so the sink may stop() us.
  private emit(body: Buffer): void {
    const head = this.head!;
    this.head = null;
    this.state = State.Head;
    if (this.skipping) this.sink.onOversize(head, this.bodySize);
    else this.sink.onMessage(head, body);
  }

  private parseHead(s: string): Http1Head {
    let eol = s.indexOf("\r\n");
    if (eol < 0) eol = s.length;
    const head: Http1Head = { method: "", target: "", statusCode: 0, status: "", header: {}, close: false, http10: false };
    const raw: string[] | undefined = this.raw ? (head.raw = []) : undefined;
    let http10: boolean;
    if (this.response) {
      // Go's ReadResponse: "HTTP/1.x" SP status, Status = rest without leading spaces.
      const sp = s.indexOf(" ");
      if (sp < 0 || sp > eol) throw new Http1Error("malformed HTTP response");
      http10 = checkVersion(s, 0, sp);
      let st = sp + 1;
      while (st < eol && s.charCodeAt(st) === 32) st++;
      head.status = s.slice(st, eol);
      const code = parseStatusCode(s, st, eol);
      if (code < 0) throw new Http1Error(`malformed HTTP status code "${head.status}"`);
      head.statusCode = code;
    } else {
      const sp1 = s.indexOf(" ");
      const sp2 = sp1 < 0 ? -1 : s.indexOf(" ", sp1 + 1);
      if (sp1 <= 0 || sp2 < 0 || sp2 > eol || sp2 === sp1 + 1) throw new Http1Error("malformed HTTP request line");
      for (let i = 0; i < sp1; i++) if (!isToken(s.charCodeAt(i))) throw new Http1Error("invalid method");
      head.method = s.slice(0, sp1);
      head.target = s.slice(sp1 + 1, sp2);
      http10 = checkVersion(s, sp2 + 1, eol);
    }

    const header = head.header;
    let contentLength: string | undefined;
    let transferEncoding: string | undefined;
    let connection: string | undefined;
    let pos = eol + 2;
    while (pos < s.length) {
      let end = s.indexOf("\r\n", pos);
      if (end < 0) end = s.length;
      const first = s.charCodeAt(pos);
      if (first === 32 || first === 9) throw new Http1Error("obsolete header line folding");
      const colon = s.indexOf(":", pos);
      if (colon <= pos || colon > end) throw new Http1Error("malformed header line");
      const rawKey = s.slice(pos, colon);
      let key = KEY_CACHE.get(rawKey);
      if (key === undefined) {
        // Go's reader: token bytes are canonicalised, a space keeps the key as-is, anything else is an error.
        for (let i = pos; i < colon; i++) {
          const c = s.charCodeAt(i);
          if (!isToken(c) && c !== 32) throw new Http1Error("invalid header name");
        }
        key = canonicalKey(rawKey);
        // Interned (as a property name is), so header[key] below needs no hashing per message.
        if (KEY_CACHE.size < KEY_CACHE_MAX) KEY_CACHE.set(rawKey, (key = Object.keys({ [key]: 0 })[0]!));
      }
      pos = end + 2;
      const framing = key === "Content-Length" || key === "Transfer-Encoding" || key === "Connection";
      if (!framing && raw === undefined && this.keep !== undefined && !this.keep.has(key)) continue;
      let vs = colon + 1;
      let ve = end;
      while (vs < ve && (s.charCodeAt(vs) === 32 || s.charCodeAt(vs) === 9)) vs++;
      while (ve > vs && (s.charCodeAt(ve - 1) === 32 || s.charCodeAt(ve - 1) === 9)) ve--;
      const value = s.slice(vs, ve);
      if (raw !== undefined) {
        raw.push(rawKey, value);
        if (!framing) continue;
      }
      if (key === "Content-Length") {
        if (contentLength !== undefined && contentLength !== value) throw new Http1Error("conflicting Content-Length headers");
        contentLength = value;
      } else if (key === "Transfer-Encoding") {
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        continue; // Go drops it from the header map
      } else if (key === "Connection") {
        connection = connection === undefined ? value : `${connection},${value}`;
      } else if (key === "Host" && !this.response) {
        continue; // Go moves it to Request.Host
      } else if (key === "__proto__") {
        continue;
      }
      if (header[key] === undefined && raw === undefined) header[key] = value;
    }
    head.http10 = http10;

    if (connection !== undefined) {
      const c = connection.toLowerCase();
      head.close = hasToken(c, "close") || (http10 && !hasToken(c, "keep-alive"));
    } else {
      head.close = http10;
    }

    this.chunked = false;
    if (transferEncoding !== undefined) {
      if (transferEncoding.trim().toLowerCase() !== "chunked") {
        throw new Http1Error(`unsupported Transfer-Encoding "${transferEncoding}"`, 501);
      }
      if (contentLength !== undefined) throw new Http1Error("both Transfer-Encoding and Content-Length");
      this.chunked = true;
      this.framedLength = -1;
    } else if (contentLength !== undefined) {
      this.framedLength = parseLength(contentLength);
    } else if (this.response && !(head.statusCode < 200 || head.statusCode === 204 || head.statusCode === 304)) {
      this.framedLength = -1; // read until the server closes, as Go does
    } else {
      this.framedLength = 0;
    }
    return head;
  }
}

function checkVersion(s: string, from: number, to: number): boolean {
  const minor = s.charCodeAt(from + 7);
  if (to - from !== 8 || !s.startsWith("HTTP/1.", from) || (minor !== 48 && minor !== 49)) {
    // Another HTTP version (h2c preface, HTTP/0.9) is unsupported; anything else is garbage.
    throw s.startsWith("HTTP/", from) ? new Http1Error("unsupported HTTP version", 505) : new Http1Error("malformed HTTP version");
  }
  return minor === 48;
}

function parseStatusCode(s: string, from: number, eol: number): number {
  if (eol - from < 3 || (eol - from > 3 && s.charCodeAt(from + 3) !== 32)) return -1;
  let code = 0;
  for (let i = from; i < from + 3; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    code = code * 10 + c - 48;
  }
  return code;
}

function parseLength(v: string): number {
  if (v.length === 0 || v.length > 15) throw new Http1Error("bad Content-Length");
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) throw new Http1Error("bad Content-Length");
    n = n * 10 + c - 48;
  }
  return n;
}

function hasToken(list: string, token: string): boolean {
  for (const part of list.split(",")) if (part.trim() === token) return true;
  return false;
}

// ---------------------------------------------------------------- serialisers

// Go's Header.writeSubset: newlines in values become spaces, then surrounding whitespace goes.
function cleanValue(v: string): string {
  const n = v.length;
  if (n === 0) return v;
  let dirty = isSpace(v.charCodeAt(0)) || isSpace(v.charCodeAt(n - 1));
  for (let i = 0; !dirty && i < n; i++) {
    const c = v.charCodeAt(i);
    if (c === 13 || c === 10) dirty = true;
  }
  if (!dirty) return v;
  const r = v.replace(/[\r\n]/g, " ");
  let a = 0;
  let b = r.length;
  while (a < b && isSpace(r.charCodeAt(a))) a++;
  while (b > a && isSpace(r.charCodeAt(b - 1))) b--;
  return r.slice(a, b);
}

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

// Header lines sorted by key, as Go writes them; invalid names are dropped, as Go does.
function sortedLines(fields: Header): string {
  const keys = Object.keys(fields).sort();
  let s = "";
  for (const k of keys) {
    if (!isHeaderKey(k)) continue;
    s += `${k}: ${cleanValue(fields[k]!)}\r\n`;
  }
  return s;
}

function stringValue(v: unknown): string | undefined {
  return typeof v === "string" ? v : v === undefined || v === null ? undefined : String(v);
}

/**
 * The head Go's Request.Write produces for a go-micro transport message:
 * request line, Host, User-Agent, Content-Length, then the other headers sorted.
 * A User-Agent in `header` wins over `userAgent`, as in Go.
 */
export function serializeRequestHead(header: Header, host: string, contentLength: number | string, userAgent: string = DEFAULT_USER_AGENT): string {
  const fields: Header = {};
  let ua = userAgent;
  for (const k in header) {
    const v = stringValue(header[k]);
    if (v === undefined) continue;
    const ck = canonicalKey(k);
    switch (ck) {
      case "User-Agent": ua = v; continue;
      case "Host": case "Content-Length": case "Transfer-Encoding": case "Trailer": case "__proto__": continue;
    }
    fields[ck] = v;
  }
  let s = `POST / HTTP/1.1\r\nHost: ${host}\r\n`;
  if (ua !== "") s += `User-Agent: ${cleanValue(ua)}\r\n`;
  return `${s}Content-Length: ${contentLength}\r\n${sortedLines(fields)}\r\n`;
}

/**
 * The head Go's Response.Write produces for the go-micro server: status line,
 * Content-Length (also 0), then `base` (the connection's first request headers,
 * minus Host) overwritten by `header`, sorted.
 */
export function serializeResponseHead(base: Header | null, header: Header, contentLength: number | string): string {
  const fields: Header = {};
  if (base !== null) {
    for (const k in base) {
      const v = stringValue(base[k]);
      if (v === undefined) continue;
      const ck = canonicalKey(k);
      switch (ck) {
        case "Host": case "Content-Length": case "Transfer-Encoding": case "Trailer": case "__proto__": continue;
      }
      fields[ck] = v;
    }
  }
  for (const k in header) {
    const v = stringValue(header[k]);
    if (v === undefined) continue;
    const ck = canonicalKey(k);
    switch (ck) {
      case "Content-Length": case "Transfer-Encoding": case "Trailer": case "__proto__": continue;
    }
    fields[ck] = v;
  }
  return `HTTP/1.1 200 OK\r\nContent-Length: ${contentLength}\r\n${sortedLines(fields)}\r\n`;
}

/**
 * A serialised head with three holes, for heads that differ per message in
 * three values only (a call's Content-Length, Micro-Id and Timeout; an
 * answer's Content-Length, Micro-Id and X-Micro-Id). Built by serialising
 * once with markers, so the bytes are exactly the serialiser's.
 */
export class HeadTemplate {
  private readonly p0: string;
  private readonly p1: string;
  private readonly p2: string;
  private readonly p3: string;
  // The same parts as bytes, copied straight into a write batch.
  private readonly b0: Buffer;
  private readonly b1: Buffer;
  private readonly b2: Buffer;
  private readonly b3: Buffer;
  private readonly fixed: number;

  /** `head` must contain HOLE[0], HOLE[1], HOLE[2] once each, in that order (see templateOf). */
  private constructor(head: string, a: number, b: number, c: number) {
    this.p0 = head.slice(0, a);
    this.p1 = head.slice(a + HOLE[0].length, b);
    this.p2 = head.slice(b + HOLE[1].length, c);
    this.p3 = head.slice(c + HOLE[2].length);
    this.b0 = Buffer.from(this.p0);
    this.b1 = Buffer.from(this.p1);
    this.b2 = Buffer.from(this.p2);
    this.b3 = Buffer.from(this.p3);
    this.fixed = this.b0.length + this.b1.length + this.b2.length + this.b3.length;
  }

  /**
   * The template for a head serialised with HOLE markers, or null when a
   * marker is missing or also occurs in a header value (a peer can send NUL
   * bytes): then the caller serialises that message in full.
   */
  static of(head: string): HeadTemplate | null {
    const a = head.indexOf(HOLE[0]);
    const b = head.indexOf(HOLE[1]);
    const c = head.indexOf(HOLE[2]);
    if (a < 0 || b < a || c < b) return null;
    if (head.lastIndexOf(HOLE[0]) !== a || head.lastIndexOf(HOLE[1]) !== b || head.lastIndexOf(HOLE[2]) !== c) return null;
    return new HeadTemplate(head, a, b, c);
  }

  fill(a: number, b: string, c: string): string {
    return this.p0 + a + this.p1 + b + this.p2 + c + this.p3;
  }

  /** Bytes fill(a, b, c) takes. */
  byteLength(a: number, b: string, c: string): number {
    return this.fixed + decimalLength(a) + utf8Length(b) + utf8Length(c);
  }

  /** Writes fill(a, b, c) into out at off without making the string; returns the new offset. */
  writeTo(out: Buffer, off: number, a: number, b: string, c: string): number {
    out.set(this.b0, off);
    off = writeDecimal(out, off + this.b0.length, a);
    out.set(this.b1, off);
    off = writeString(out, off + this.b1.length, b);
    out.set(this.b2, off);
    off = writeString(out, off + this.b2.length, c);
    out.set(this.b3, off);
    return off + this.b3.length;
  }
}

function decimalLength(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

function writeDecimal(out: Buffer, off: number, n: number): number {
  const end = off + decimalLength(n);
  for (let i = end - 1; i >= off; i--) {
    out[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

// Ids and timeouts are short ASCII; a byte loop beats a call into C++ for them.
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return Buffer.byteLength(s);
  return s.length;
}

function writeString(out: Buffer, off: number, s: string): number {
  const n = s.length;
  if (n > 32) return off + out.write(s, off);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) return off + out.write(s, off); // restarts this string from its start: nothing written so far counts
    out[off + i] = c;
  }
  return off + n;
}

/** Markers for HeadTemplate holes: NUL never occurs in a valid header value. */
export const HOLE = ["\u0000A\u0000", "\u0000B\u0000", "\u0000C\u0000"] as const;

/** The template of Request.Write's head for `shared` plus Micro-Id and Timeout: fill(contentLength, id, timeout). */
export function requestTemplate(shared: Header, host: string, userAgent: string = DEFAULT_USER_AGENT): HeadTemplate | null {
  // Sorted, Micro-Id comes before Timeout; Content-Length is always ahead of both.
  const header: Header = Object.assign({}, shared);
  header["Micro-Id"] = HOLE[1];
  header.Timeout = HOLE[2];
  return HeadTemplate.of(serializeRequestHead(header, host, HOLE[0], userAgent));
}

/** The template of Response.Write's head for a plain answer: fill(contentLength, id, id). */
export function responseTemplate(base: Header | null, contentType: string | undefined): HeadTemplate | null {
  const header: Header = { "Micro-Id": HOLE[1], "X-Micro-Id": HOLE[2] };
  if (contentType !== undefined) header["Content-Type"] = contentType;
  return HeadTemplate.of(serializeResponseHead(base, header, HOLE[0]));
}

export function serializeRequest(msg: Message, host: string, userAgent?: string): Buffer {
  return Buffer.concat([Buffer.from(serializeRequestHead(msg.header, host, msg.body.length, userAgent)), msg.body]);
}

export function serializeResponse(base: Header | null, msg: Message): Buffer {
  return Buffer.concat([Buffer.from(serializeResponseHead(base, msg.header, msg.body.length)), msg.body]);
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

/** A plain-text error answer that ends the connection, like Go's net/http server sends for bad requests. */
export function serializeErrorResponse(status: number, text: string): Buffer {
  const reason = STATUS_TEXT[status] ?? "Error";
  const body = `${status} ${reason}: ${text.replace(/[\r\n]/g, " ")}`;
  return Buffer.from(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\n${body}`,
  );
}

// ---------------------------------------------------------------- batched writes

// Frames up to this size are copied into one buffer per flush; bigger batches go out corked (writev) uncopied.
const COALESCE_LIMIT = 64 * 1024;

/**
 * Queues frames and writes them once per tick, so a burst of requests or
 * answers becomes one write (one syscall) instead of one per frame. With
 * `perLoop`, once per event-loop turn instead: requests that arrive on many
 * sockets in one turn (a gateway's) then share a write too.
 */
export class FrameWriter {
  readonly socket: Socket;
  private readonly perLoop: boolean;
  // One queued frame per index: a head string, or a template with its three values.
  private heads: (string | HeadTemplate)[] = [];
  private va: number[] = [];
  private vb: string[] = [];
  private vc: string[] = [];
  private bodies: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(socket: Socket, perLoop = false) {
    this.socket = socket;
    this.perLoop = perLoop;
  }

  get pending(): boolean {
    return this.heads.length > 0;
  }

  push(head: string, body: Buffer): void {
    this.queue(head, 0, "", "", body, head.length);
  }

  /** A frame whose head is t.fill(a, b, c), written without building that string. */
  pushTemplate(t: HeadTemplate, a: number, b: string, c: string, body: Buffer): void {
    this.queue(t, a, b, c, body, t.byteLength(a, b, c));
  }

  /** Raw bytes, flushed after what is queued. */
  pushRaw(bytes: Buffer): void {
    this.push("", bytes);
  }

  private queue(head: string | HeadTemplate, a: number, b: string, c: string, body: Buffer, headBytes: number): void {
    this.heads.push(head);
    this.va.push(a);
    this.vb.push(b);
    this.vc.push(c);
    this.bodies.push(body);
    this.bytes += headBytes + body.length;
    if (!this.scheduled) {
      this.scheduled = true;
      if (this.perLoop) setImmediate(flushFrames, this);
      else process.nextTick(flushFrames, this);
    }
  }

  flush(): void {
    this.scheduled = false;
    const heads = this.heads;
    const n = heads.length;
    if (n === 0) return;
    const { bodies, va, vb, vc } = this;
    const bytes = this.bytes;
    this.heads = [];
    this.va = [];
    this.vb = [];
    this.vc = [];
    this.bodies = [];
    this.bytes = 0;
    const sock = this.socket;
    if (sock.destroyed || !sock.writable) return;
    if (bytes <= COALESCE_LIMIT) {
      // `bytes` counted string heads by length; UTF-8 may need more.
      let total = 0;
      for (let i = 0; i < n; i++) {
        const h = heads[i]!;
        total += (typeof h === "string" ? Buffer.byteLength(h) : h.byteLength(va[i]!, vb[i]!, vc[i]!)) + bodies[i]!.length;
      }
      const out = Buffer.allocUnsafe(total);
      let off = 0;
      for (let i = 0; i < n; i++) {
        const h = heads[i]!;
        off = typeof h === "string" ? off + out.write(h, off) : h.writeTo(out, off, va[i]!, vb[i]!, vc[i]!);
        const body = bodies[i]!;
        if (body.length > 0) {
          out.set(body, off);
          off += body.length;
        }
      }
      sock.write(out);
    } else {
      sock.cork();
      for (let i = 0; i < n; i++) {
        const h = heads[i]!;
        const head = typeof h === "string" ? h : h.fill(va[i]!, vb[i]!, vc[i]!);
        if (head.length > 0) sock.write(head);
        if (bodies[i]!.length > 0) sock.write(bodies[i]!);
      }
      sock.uncork();
    }
  }
}

function flushFrames(w: FrameWriter): void {
  w.flush();
}
