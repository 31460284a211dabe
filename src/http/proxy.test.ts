import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import { proxyRequest, proxyUpgrade, type ProxyOptions, type ProxyTarget } from "./proxy.js";

const ID = "go.micro.test";

function listen(server: Server | TcpServer): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function close(server: Server | TcpServer): Promise<void> {
  (server as Server).closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A free port nothing listens on. */
async function deadAddress(): Promise<string> {
  const s = createTcpServer();
  const address = await listen(s);
  await close(s);
  return address;
}

interface Front {
  address: string;
  server: Server;
  /** Every proxyRequest/proxyUpgrade promise, to check they all settle. */
  done: Promise<void>[];
}

/** A front server proxying everything to target(req). */
async function front(target: (req: IncomingMessage) => ProxyTarget, opts: Partial<ProxyOptions> = {}): Promise<Front> {
  const done: Promise<void>[] = [];
  const o: ProxyOptions = { timeoutMs: 2_000, id: ID, ...opts };
  const server = createServer((req, res) => void done.push(proxyRequest(req, res, target(req), o)));
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => void done.push(proxyUpgrade(req, socket, head, target(req), o)));
  return { address: await listen(server), server, done };
}

interface Answer {
  status: number;
  headers: IncomingMessage["headers"];
  raw: string[];
  body: Buffer;
}

function get(address: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, method: init.method ?? "GET", headers: init.headers, agent: false }, (rsp) => {
      const chunks: Buffer[] = [];
      rsp.on("data", (c: Buffer) => chunks.push(c));
      rsp.on("end", () => resolve({ status: rsp.statusCode!, headers: rsp.headers, raw: rsp.rawHeaders, body: Buffer.concat(chunks) }));
      rsp.on("error", reject);
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

test("forwards method, path, body and headers; hop-by-hop headers stay behind; the answer comes back whole", async () => {
  let seen: IncomingMessage | undefined;
  let seenBody = "";
  const backend = createServer((req, res) => {
    seen = req;
    req.setEncoding("utf8");
    req.on("data", (c: string) => (seenBody += c));
    req.on("end", () => {
      res.setHeader("Set-Cookie", ["a=1", "b=2"]);
      res.setHeader("X-Gone", "hop");
      res.setHeader("Connection", "X-Gone");
      res.setHeader("Keep-Alive", "timeout=99");
      res.writeHead(201, "Made It", { "Content-Type": "text/plain" });
      res.end("made");
    });
  });
  const b = await listen(backend);
  const f = await front(() => ({ address: b, path: "/inner/x?q=1", headers: { "X-Micro-Web-Base-Path": "/greeter" } }));
  try {
    const rsp = await get(f.address, "/greeter/inner/x?q=1", {
      method: "POST",
      headers: {
        Host: "example.test:8082",
        Connection: "keep-alive, X-Secret",
        "X-Secret": "drop me",
        "Keep-Alive": "timeout=1",
        "Proxy-Authorization": "Basic x",
        TE: "trailers",
        "X-Forwarded-For": "10.0.0.1",
        "X-Forwarded-Proto": "https",
        "x-micro-web-base-path": "/spoofed",
        "X-Custom": "kept",
        "Content-Type": "text/plain",
      },
      body: "hello body",
    });
    assert.equal(rsp.status, 201);
    assert.equal(rsp.body.toString(), "made");
    assert.deepEqual(rsp.headers["set-cookie"], ["a=1", "b=2"]);
    assert.equal(rsp.headers["x-gone"], undefined, "named in Connection: hop-by-hop");
    assert.notEqual(rsp.headers["keep-alive"], "timeout=99", "the backend's Keep-Alive is its hop's (Node's own may be there)");
    assert.equal(rsp.headers["content-type"], "text/plain");

    const h = seen!.headers;
    assert.equal(seen!.method, "POST");
    assert.equal(seen!.url, "/inner/x?q=1");
    assert.equal(seenBody, "hello body");
    assert.equal(h.host, "example.test:8082", "Host is the client's");
    assert.equal(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    assert.equal(h["x-forwarded-host"], "example.test:8082");
    assert.equal(h["x-forwarded-proto"], "http", "set by the proxy, not the client");
    assert.equal(h["x-micro-web-base-path"], "/greeter", "the target's header replaces the client's");
    assert.equal(h["x-custom"], "kept");
    for (const k of ["x-secret", "keep-alive", "proxy-authorization", "te"]) assert.equal(h[k], undefined, k);
    await Promise.all(f.done);
  } finally {
    await close(f.server);
    await close(backend);
  }
});

test("a backend that refuses: 502 error JSON; with next(), the request goes to the other node whole", async () => {
  const dead = await deadAddress();
  let body = "";
  const backend = createServer((req, res) => {
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => res.end(`got ${body}`));
  });
  const b = await listen(backend);
  const refusing = await front(() => ({ address: dead, path: "/" }));
  const retrying = await front(() => ({ address: dead, path: "/" }), { next: () => ({ address: b, path: "/" }) });
  try {
    const r1 = await get(refusing.address, "/x");
    assert.equal(r1.status, 502);
    assert.equal(r1.headers["content-type"], "application/json");
    const e = JSON.parse(r1.body.toString());
    assert.equal(e.id, ID);
    assert.equal(e.code, 502);
    assert.equal(e.status, "Bad Gateway");
    assert.match(e.detail, /ECONNREFUSED/);

    const r2 = await get(retrying.address, "/x", { method: "POST", body: "the whole body" });
    assert.equal(r2.status, 200);
    assert.equal(r2.body.toString(), "got the whole body");
  } finally {
    await close(refusing.server);
    await close(retrying.server);
    await close(backend);
  }
});

test("a backend that accepts but never answers: 504 within the timeout, and its connection is closed", async () => {
  const sockets: Socket[] = [];
  const hang = createTcpServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    s.resume(); // reads (and so sees the proxy hang up), never answers
  });
  const b = await listen(hang);
  const f = await front(() => ({ address: b, path: "/" }), { timeoutMs: 300 });
  try {
    const started = Date.now();
    const rsp = await get(f.address, "/slow");
    const took = Date.now() - started;
    assert.equal(rsp.status, 504);
    const e = JSON.parse(rsp.body.toString());
    assert.deepEqual([e.id, e.code, e.status], [ID, 504, "Gateway Timeout"]);
    assert.ok(took >= 280 && took < 2_000, `answered after ${took} ms`);
    await Promise.all(f.done);
    assert.equal(sockets.length, 1);
    await new Promise<void>((resolve, reject) => {
      if (sockets[0]!.closed) return resolve();
      sockets[0]!.once("close", () => resolve());
      setTimeout(() => reject(new Error("the backend connection was not dropped")), 2_000).unref();
    });
  } finally {
    await close(f.server);
    for (const s of sockets) s.destroy();
    await close(hang);
  }
});

test("a large body streams both ways (upload and download checked by hash)", async () => {
  const backend = createServer((req, res) => {
    const hash = createHash("sha256");
    let size = 0;
    req.on("data", (c: Buffer) => {
      hash.update(c);
      size += c.length;
    });
    req.on("end", () => {
      res.writeHead(200, { "X-Upload-Hash": hash.digest("hex"), "X-Upload-Size": String(size) });
      // 24 MiB down, in chunks, with back pressure
      const chunk = Buffer.alloc(64 * 1024, 7);
      let left = 384;
      const pump = () => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    });
  });
  const b = await listen(backend);
  const f = await front(() => ({ address: b, path: "/" }));
  try {
    const up = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < up.length; i += 4096) up[i] = i & 0xff;
    const rsp = await get(f.address, "/big", { method: "PUT", body: up });
    assert.equal(rsp.status, 200);
    assert.equal(rsp.headers["x-upload-size"], String(up.length));
    assert.equal(rsp.headers["x-upload-hash"], createHash("sha256").update(up).digest("hex"));
    assert.equal(rsp.body.length, 384 * 64 * 1024);
    assert.ok(rsp.body.every((x) => x === 7));
  } finally {
    await close(f.server);
    await close(backend);
  }
});

test("a client that goes away mid-answer: the backend request is cancelled, nothing crashes", async () => {
  let backendClosed!: () => void;
  const closed = new Promise<void>((r) => (backendClosed = r));
  const backend = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" });
    const t = setInterval(() => res.write("tick\n"), 10);
    res.on("close", () => {
      clearInterval(t);
      backendClosed();
    });
  });
  const b = await listen(backend);
  const f = await front(() => ({ address: b, path: "/" }));
  try {
    await new Promise<void>((resolve, reject) => {
      const [host, port] = f.address.split(":");
      const req = request({ host, port: Number(port), path: "/stream", agent: false }, (rsp) => {
        rsp.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => {});
      setTimeout(() => reject(new Error("no data")), 2_000).unref();
      req.end();
    });
    await closed;
    await Promise.all(f.done);
  } finally {
    await close(f.server);
    await close(backend);
  }
});

test("a client that goes away mid-upload, and one that aborts before the backend answers: both settle", async () => {
  let backendRequests = 0;
  const backend = createServer((req, res) => {
    if (req.url === "/after") return void res.end("still here");
    backendRequests++;
    req.resume(); // never answers
  });
  const b = await listen(backend);
  const f = await front((req) => ({ address: b, path: req.url! }), { timeoutMs: 5_000 });
  try {
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve) => {
        const [host, port] = f.address.split(":");
        const req = request({ host, port: Number(port), path: "/up", method: "POST", agent: false, headers: { "Content-Length": "1000000" } });
        req.on("error", () => resolve());
        req.write(Buffer.alloc(1000));
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100);
      });
    }
    const started = Date.now();
    await Promise.all(f.done);
    assert.ok(Date.now() - started < 2_000, "settled at once, not at the timeout");
    assert.equal(backendRequests, 2);
    // the front still serves
    const after = await get(f.address, "/after", { method: "POST", body: "x" });
    assert.equal(after.body.toString(), "still here");
  } finally {
    await close(f.server);
    await close(backend);
  }
});

test("a backend that dies mid-answer: the client sees a cut, not a hang", async () => {
  const backend = createServer((_req, res) => {
    res.writeHead(200, { "Content-Length": "1000" });
    res.write("partial");
    setTimeout(() => res.socket?.destroy(), 50);
  });
  const b = await listen(backend);
  const f = await front(() => ({ address: b, path: "/" }));
  try {
    const err = await get(f.address, "/").then(() => undefined, (e: Error) => e);
    assert.ok(err, "the client got an error");
    await Promise.all(f.done);
  } finally {
    await close(f.server);
    await close(backend);
  }
});

test("WebSocket: frames go both ways through the proxy; the path and headers reach the backend", async () => {
  const backend = createServer();
  const wss = new WebSocketServer({ server: backend });
  let upgradePath = "";
  let basePath = "";
  wss.on("connection", (ws, req) => {
    upgradePath = req.url ?? "";
    basePath = String(req.headers["x-micro-web-base-path"]);
    ws.on("message", (data, binary) => ws.send(binary ? data : `echo: ${data.toString()}`, { binary }));
  });
  const b = await listen(backend);
  const f = await front((req) => ({ address: b, path: req.url!.replace(/^\/app/, "") || "/", headers: { "X-Micro-Web-Base-Path": "/app" } }));
  try {
    const ws = new WebSocket(`ws://${f.address}/app/socket?x=1`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const replies: string[] = [];
    const got = new Promise<void>((resolve) =>
      ws.on("message", (d) => {
        replies.push(d.toString());
        if (replies.length === 3) resolve();
      }),
    );
    ws.send("one");
    ws.send("two");
    ws.send(Buffer.alloc(200_000, 1)); // larger than one TCP segment
    await got;
    assert.deepEqual(replies.slice(0, 2), ["echo: one", "echo: two"]);
    assert.equal(replies[2]!.length, 200_000);
    assert.equal(upgradePath, "/socket?x=1");
    assert.equal(basePath, "/app");
    ws.close();
    await Promise.all(f.done);
  } finally {
    await close(f.server);
    wss.close();
    await close(backend);
  }
});

test("WebSocket to a backend that is down: 502 and the socket closed; to one that will not upgrade: its answer", async () => {
  const dead = await deadAddress();
  const plain = createServer((_req, res) => {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("no sockets here");
  });
  const p = await listen(plain);
  const f = await front((req) => ({ address: req.url === "/dead" ? dead : p, path: "/" }));
  const rawUpgrade = (path: string) =>
    new Promise<string>((resolve, reject) => {
      const [host, port] = f.address.split(":");
      const req = request({
        host, port: Number(port), path, agent: false,
        headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
      });
      req.on("response", (rsp) => {
        let body = "";
        rsp.setEncoding("utf8");
        rsp.on("data", (c: string) => (body += c));
        rsp.on("end", () => resolve(`${rsp.statusCode} ${body}`));
      });
      req.on("upgrade", () => reject(new Error("should not upgrade")));
      req.on("error", reject);
      req.end();
    });
  try {
    const down = await rawUpgrade("/dead");
    assert.match(down, /^502 \{"id":"go.micro.test","code":502,"detail":".*ECONNREFUSED.*","status":"Bad Gateway"\}$/);
    assert.equal(await rawUpgrade("/plain"), "404 no sockets here");
    await Promise.all(f.done);
  } finally {
    await close(f.server);
    await close(plain);
  }
});

test("WebSocket to a backend that never answers: 504 within the timeout", async () => {
  const sockets: Socket[] = [];
  const hang = createTcpServer((s) => void sockets.push(s.on("error", () => {})));
  const b = await listen(hang);
  const f = await front(() => ({ address: b, path: "/" }), { timeoutMs: 300 });
  try {
    const ws = new WebSocket(`ws://${f.address}/ws`);
    const status = await new Promise<number>((resolve) => {
      ws.on("unexpected-response", (_req, rsp) => resolve(rsp.statusCode!));
      ws.on("error", () => resolve(-1));
    });
    assert.equal(status, 504);
    await Promise.all(f.done);
  } finally {
    await close(f.server);
    for (const s of sockets) s.destroy();
    await close(hang);
  }
});
