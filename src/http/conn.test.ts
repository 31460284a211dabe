// The lean front on a real listener: what an HTTP client sees, byte for byte,
// and when it hands a connection to node:http.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { MicroError } from "../errors/errors.js";
import { listen, type Listener } from "./listen.js";
import type { ExchangeFront } from "./conn.js";
import type { BufferedHandler, HttpRequest } from "./exchange.js";

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A client that writes raw bytes and reads answers by their framing, as they arrive. */
class Raw {
  readonly socket: net.Socket;
  #buf = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.on("data", (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      this.#wake?.();
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.#wake?.();
    });
    this.socket.on("error", () => {});
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** The next answer (HEAD: pass true, the body is not sent). */
  async answer(head = false, ms = 5_000): Promise<Answer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const end = this.#buf.indexOf("\r\n\r\n");
      if (end >= 0) {
        const lines = this.#buf.subarray(0, end).toString("latin1").split("\r\n");
        const status = Number(lines[0]!.split(" ")[1]);
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(":");
          const k = l.slice(0, i).toLowerCase();
          headers[k] = headers[k] === undefined ? l.slice(i + 1).trim() : `${headers[k]}, ${l.slice(i + 1).trim()}`;
        }
        if (headers["transfer-encoding"] === "chunked") {
          const body = chunked(this.#buf.subarray(end + 4));
          if (body) {
            this.#buf = this.#buf.subarray(end + 4 + body.used);
            return { status, headers, body: body.text };
          }
        }
        const len = head || status === 204 || status < 200 || status === 304 || headers["transfer-encoding"] ? 0 : Number(headers["content-length"] ?? 0);
        if (!headers["transfer-encoding"] && this.#buf.length >= end + 4 + len) {
          const body = this.#buf.subarray(end + 4, end + 4 + len).toString("utf8");
          this.#buf = this.#buf.subarray(end + 4 + len);
          return { status, headers, body };
        }
      }
      if (this.closed) throw new Error(`closed before a whole answer (have ${JSON.stringify(this.#buf.toString())})`);
      if (Date.now() > deadline) throw new Error(`no answer within ${ms} ms (have ${JSON.stringify(this.#buf.toString())})`);
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 50);
      });
    }
  }

  async closedWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await sleep(20);
    return this.closed;
  }

  get pending(): string {
    return this.#buf.toString();
  }
}

/** A whole chunked body at the start of buf, or undefined while it is not all there. */
function chunked(buf: Buffer): { text: string; used: number } | undefined {
  let pos = 0;
  let text = "";
  for (;;) {
    const eol = buf.indexOf("\r\n", pos);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(pos, eol).toString(), 16);
    if (size === 0) return buf.length >= eol + 4 ? { text, used: eol + 4 } : undefined;
    if (buf.length < eol + 2 + size + 2) return undefined;
    text += buf.subarray(eol + 2, eol + 2 + size).toString();
    pos = eol + 2 + size + 2;
  }
}

const ID = "go.test";

/** A front whose routes are in `routes` by path; any other path goes to node:http. */
function front(routes: Record<string, BufferedHandler>, extra?: ExchangeFront["headersFor"]): ExchangeFront & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    limits: { maxBytes: 64, timeoutMs: 30_000, id: ID },
    plan: (_method, url) => routes[url.split("?")[0]!],
    ...(extra ? { headersFor: extra } : {}),
    answered: (req: HttpRequest, status: number, size: number) => log.push(`${req.method} ${req.url} ${status} ${size}`),
  };
}

/** node:http's side: answers "node:<method> <url>:<body>". */
const fromNode = (req: http.IncomingMessage, res: http.ServerResponse) => {
  let body = "";
  req.setEncoding("utf8").on("data", (d: string) => (body += d));
  req.on("end", () => {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end(`node:${req.method} ${req.url}:${body}`);
  });
};

const text = (body: string, status = 200): BufferedHandler => () => ({ status, headers: ["Content-Type", "text/plain"], body });
const echo: BufferedHandler = (req) => ({ status: 200, headers: ["Content-Type", "text/plain"], body: `${req.method} ${req.url} ${req.headers["x-tag"] ?? "-"} ${req.body.toString()}` });
const after = (ms: number, body: string): BufferedHandler => () => sleep(ms).then(() => ({ status: 200, headers: [], body }));

async function withListener(f: ExchangeFront, fn: (l: Listener, port: number) => Promise<void>, upgrade?: Parameters<typeof listen>[2]): Promise<void> {
  const l = await listen(fromNode, { address: "127.0.0.1:0", closeGrace: 500 }, upgrade, f);
  try {
    await fn(l, Number(l.address.split(":").pop()));
  } finally {
    await l.close();
  }
}

test("keep-alive and pipelining: answers in request order with Content-Length and Date, on one connection", async () => {
  const f = front({ "/slow": after(150, "slow"), "/fast": text("fast"), "/echo": echo });
  await withListener(f, async (_l, port) => {
    const c = new Raw(port);
    c.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo?q=1 HTTP/1.1\r\nHost: x\r\nX-Tag: t\r\nContent-Length: 5\r\n\r\nhello");
    const a = [await c.answer(), await c.answer(), await c.answer()];
    assert.deepEqual(a.map((x) => x.body), ["slow", "fast", "POST /echo?q=1 t hello"]);
    assert.equal(a[1]!.headers["content-length"], "4");
    assert.equal(a[1]!.headers["content-type"], "text/plain");
    assert.ok(!Number.isNaN(Date.parse(a[1]!.headers.date!)), "a Date header");
    assert.equal(a[1]!.headers.connection, undefined, "HTTP/1.1 keeps the connection without saying so");
    // A body in chunks, split across writes.
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    await sleep(20);
    c.send("2\r\nde\r\n0\r\n\r\n");
    assert.equal((await c.answer()).body, "POST /echo - abcde");
    assert.equal(c.closed, false);
    assert.deepEqual(f.log, ["GET /slow 200 4", "GET /fast 200 4", "POST /echo?q=1 200 22", "POST /echo 200 18"]);
    c.socket.destroy();
  });
});

test("many pipelined requests in one write: at most 16 handlers run at once, every answer comes in order", async () => {
  let inFlight = 0;
  let most = 0;
  const f = front({
    "/n": async (req) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(5);
      inFlight--;
      return { status: 200, headers: [], body: req.url.slice(3) };
    },
  });
  await withListener(f, async (_l, port) => {
    const c = new Raw(port);
    let burst = "";
    for (let i = 0; i < 100; i++) burst += `GET /n?${i} HTTP/1.1\r\nHost: x\r\n\r\n`;
    c.send(burst);
    const bodies: string[] = [];
    for (let i = 0; i < 100; i++) bodies.push((await c.answer()).body);
    assert.deepEqual(bodies, Array.from({ length: 100 }, (_, i) => String(i)));
    assert.ok(most <= 16, `at most 16 handlers at once, saw ${most}`);
    c.socket.destroy();
  });
});

test("HEAD gets the head only, 204 no Content-Length, HTTP/1.0 closes unless it asks to keep alive, Connection: close is kept", async () => {
  const f = front({ "/t": text("twelve bytes"), "/none": () => ({ status: 204, headers: [], body: "" }) });
  await withListener(f, async (_l, port) => {
    const c = new Raw(port);
    c.send("HEAD /t HTTP/1.1\r\nHost: x\r\n\r\nGET /none HTTP/1.1\r\nHost: x\r\n\r\n");
    const head = await c.answer(true);
    assert.equal(head.headers["content-length"], "12");
    const none = await c.answer();
    assert.equal(none.status, 204);
    assert.equal(none.headers["content-length"], undefined);
    c.send("GET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const last = await c.answer();
    assert.equal(last.headers.connection, "close");
    assert.ok(await c.closedWithin(2_000), "closed after Connection: close");
    assert.equal(c.pending, "", "nothing after the answer");

    const old = new Raw(port);
    old.send("GET /t HTTP/1.0\r\n\r\n");
    assert.equal((await old.answer()).headers.connection, "close");
    assert.ok(await old.closedWithin(2_000));
    const kept = new Raw(port);
    kept.send("GET /t HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /t HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert.equal((await kept.answer()).headers.connection, "keep-alive");
    assert.equal((await kept.answer()).body, "twelve bytes");
    kept.socket.destroy();
  });
});

test("bad input: over the body limit is 413 and the connection serves on; bad framing is 400, a huge head 431, both then close", async () => {
  const f = front({ "/echo": echo });
  await withListener(f, async (_l, port) => {
    const c = new Raw(port);
    c.send(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n${"x".repeat(100)}GET /echo HTTP/1.1\r\nHost: x\r\n\r\n`);
    const big = await c.answer();
    assert.equal(big.status, 413);
    assert.equal(big.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(big.body), { id: ID, code: 413, detail: "request body of 100 bytes is over the limit of 64", status: "Request Entity Too Large" });
    assert.equal((await c.answer()).body, "GET /echo - ");

    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
    const bad = await c.answer();
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).code, 400);
    assert.equal(bad.headers.connection, "close");
    assert.ok(await c.closedWithin(2_000));

    const huge = new Raw(port);
    huge.send(`GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: ${"y".repeat(20_000)}\r\n\r\n`);
    const a = await huge.answer();
    assert.equal(a.status, 431);
    assert.equal(JSON.parse(a.body).id, ID);
    assert.ok(await huge.closedWithin(2_000));
  });
});

test("a handler that throws, or answers with a header HTTP cannot carry: 500 error JSON, and the connection serves on", async () => {
  const f = front({
    "/throw": () => {
      throw new MicroError(ID, 409, "taken");
    },
    "/reject": () => Promise.reject(new Error("boom")),
    "/inject": () => ({ status: 200, headers: ["X-Evil", "a\r\nSet-Cookie: b"], body: "x" }),
    "/ok": text("ok"),
  });
  await withListener(f, async (_l, port) => {
    const c = new Raw(port);
    c.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /reject HTTP/1.1\r\nHost: x\r\n\r\nGET /inject HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    const thrown = await c.answer();
    assert.equal(thrown.status, 409);
    assert.equal(JSON.parse(thrown.body).detail, "taken");
    const rejected = await c.answer();
    assert.equal(rejected.status, 500);
    const injected = await c.answer();
    assert.equal(injected.status, 500);
    assert.match(JSON.parse(injected.body).detail, /bad answer: invalid value for header X-Evil/);
    assert.equal(injected.headers["set-cookie"], undefined);
    assert.equal((await c.answer()).body, "ok");
    c.socket.destroy();
  });
});

test("headersFor: every answer carries them, the front's own errors too", async () => {
  const f = front({ "/t": text("t") }, (origin) => ["Access-Control-Allow-Origin", origin ?? "*"]);
  await withListener(f, async (_l, port) => {
    const c = new Raw(port);
    c.send(`GET /t HTTP/1.1\r\nHost: x\r\nOrigin: http://app\r\n\r\nPOST /t HTTP/1.1\r\nHost: x\r\nOrigin: http://app\r\nContent-Length: 65\r\n\r\n${"z".repeat(65)}`);
    assert.equal((await c.answer()).headers["access-control-allow-origin"], "http://app");
    const big = await c.answer();
    assert.equal(big.status, 413);
    assert.equal(big.headers["access-control-allow-origin"], "http://app");
    c.socket.destroy();
  });
});

test("handed to node:http from the first request the front declines: after the answers owed, in order, bytes that come later included", async () => {
  const f = front({ "/lean": after(100, "lean"), "/fast": text("fast") });
  await withListener(f, async (_l, port) => {
    for (let i = 0; i < 20; i++) {
      const c = new Raw(port);
      // A slow lean answer is owed when the declined request arrives; more requests follow in later writes.
      c.send("GET /lean HTTP/1.1\r\nHost: x\r\n\r\nPOST /elsewhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab");
      setImmediate(() => c.send("cde"));
      setTimeout(() => c.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"), i % 3);
      assert.equal((await c.answer()).body, "lean");
      assert.equal((await c.answer()).body, "node:POST /elsewhere:abcde");
      // The connection is node:http's now, for good.
      assert.equal((await c.answer()).body, "node:GET /fast:");
      c.socket.destroy();
    }
  });
});

test("node:http's own: Expect: 100-continue, a request without Host, a target that is not a path, upgrades", async () => {
  const f = front({ "/t": text("lean") });
  const upgrade = (req: http.IncomingMessage, socket: import("node:stream").Duplex) => {
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\nraw`);
  };
  await withListener(f, async (_l, port) => {
    const cont = new Raw(port);
    cont.send("POST /t HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    const hundred = await cont.answer();
    assert.equal(hundred.status, 100, "node:http says 100 Continue");
    cont.send("hi");
    assert.equal((await cont.answer()).body, "node:POST /t:hi");
    cont.socket.destroy();

    const hostless = new Raw(port);
    hostless.send("GET /t HTTP/1.1\r\n\r\n");
    assert.equal((await hostless.answer()).status, 400);
    hostless.socket.destroy();

    const absolute = new Raw(port);
    absolute.send("GET http://x/t HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal((await absolute.answer()).body, "node:GET http://x/t:");
    absolute.socket.destroy();

    const ws = new Raw(port);
    ws.send("GET /t HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    const switched = await ws.answer();
    assert.equal(switched.status, 101);
    ws.socket.destroy();
  }, upgrade);
});

test("deadlines: a head that stalls gets 408 and a close; an idle keep-alive connection is closed", async () => {
  const f = front({ "/t": text("t") });
  await withListener(f, async (l, port) => {
    l.server.headersTimeout = 1_200;
    l.server.keepAliveTimeout = 1_000;
    const stall = new Raw(port);
    stall.send("GET /t HTTP/1.1\r\nHost: x\r\n");
    const a = await stall.answer(false, 5_000);
    assert.equal(a.status, 408);
    assert.match(JSON.parse(a.body).detail, /request head not received within 1200 ms/);
    assert.ok(await stall.closedWithin(2_000));

    const idle = new Raw(port);
    idle.send("GET /t HTTP/1.1\r\nHost: x\r\n\r\n");
    await idle.answer();
    assert.ok(await idle.closedWithin(4_000), "closed after the keep-alive timeout");
  });
});

test("close(): idle connections go at once, a request in flight is answered with Connection: close first", async () => {
  const f = front({ "/slow": after(300, "slow"), "/t": text("t") });
  const l = await listen(fromNode, { address: "127.0.0.1:0", closeGrace: 2_000 }, undefined, f);
  const port = Number(l.address.split(":").pop());
  const idle = new Raw(port);
  idle.send("GET /t HTTP/1.1\r\nHost: x\r\n\r\n");
  await idle.answer();
  const busy = new Raw(port);
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  await sleep(50);
  const closed = l.close();
  assert.ok(await idle.closedWithin(500), "the idle one is closed at once");
  const a = await busy.answer();
  assert.equal(a.body, "slow");
  assert.equal(a.headers.connection, "close");
  assert.ok(await busy.closedWithin(1_000));
  await closed;
});
