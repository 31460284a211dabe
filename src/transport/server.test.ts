import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { once } from "node:events";
import { listen } from "./server.js";
import type { Message, ServerConnection, TransportServer } from "./transport.js";
import { GO_BODY, goRequest } from "./testdata/greeter.js";

const HELLO = '{"msg":"Hello John"}\n';
const goResponse = (id: string, extra = "", body = HELLO) =>
  `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\nAccept: application/json\r\nContent-Type: application/json\r\n` +
  `Micro-Endpoint: Say.Hello\r\n${extra}Micro-Id: ${id}\r\nMicro-Method: Say.Hello\r\nMicro-Service: go.micro.srv.greeter\r\n` +
  `Timeout: 5000000000\r\nUser-Agent: Go-http-client/1.1\r\nX-Micro-Id: ${id}\r\n\r\n${body}`;

// Answers like the mucp server layer: Micro-Id and X-Micro-Id plus Content-Type.
function greeter(msg: Message, conn: ServerConnection): void {
  const id = msg.header["Micro-Id"]!;
  conn.send({ header: { "Micro-Id": id, "X-Micro-Id": id, "Content-Type": "application/json" }, body: Buffer.from(HELLO) });
}

/** A raw socket that collects everything it reads. */
async function rawClient(address: string): Promise<{ socket: Socket; read: (n: number) => Promise<string>; closed: Promise<void> }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  const socket = connect({ host, port });
  await once(socket, "connect");
  let data = "";
  let waiter: (() => void) | null = null;
  socket.on("data", (c) => {
    data += c.toString("latin1");
    waiter?.();
  });
  socket.on("error", () => {});
  const closed = new Promise<void>((r) => socket.on("close", () => r()));
  return {
    socket,
    closed,
    async read(n: number) {
      while (data.length < n) await new Promise<void>((r) => ((waiter = r), setTimeout(r, 2000)));
      const out = data.slice(0, n);
      data = data.slice(n);
      return out;
    },
  };
}

const servers: TransportServer[] = [];
async function start(handler = greeter, options = {}): Promise<TransportServer> {
  const s = await listen("127.0.0.1:0", handler, options);
  servers.push(s);
  return s;
}
after(() => Promise.all(servers.map((s) => s.close(100))));

describe("transport server", () => {
  test("listens on :0 and reports the real address", async () => {
    const s = await listen(":0", greeter);
    assert.match(s.address, /:\d+$/);
    assert.notEqual(s.address.endsWith(":0"), true);
    await s.close();
    const t = await start();
    assert.match(t.address, /^127\.0\.0\.1:\d+$/);
    await assert.rejects(listen(t.address, greeter), { code: "EADDRINUSE" });
  });

  test("two Go requests on one connection get exactly Go's response bytes", async () => {
    const s = await start();
    const c = await rawClient(s.address);
    c.socket.write(goRequest(s.address, "0"));
    assert.equal(await c.read(goResponse("0").length), goResponse("0"));
    c.socket.write(goRequest(s.address, "1"));
    assert.equal(await c.read(goResponse("1").length), goResponse("1"));
    c.socket.destroy();
  });

  test("answers go out in completion order, each carrying its own Micro-Id", async () => {
    const s = await start((msg, conn) => {
      const id = msg.header["Micro-Id"]!;
      setTimeout(() => conn.send({ header: { "Micro-Id": id, "Content-Type": "application/json" }, body: Buffer.from(HELLO) }), id === "0" ? 60 : 5);
    });
    const c = await rawClient(s.address);
    c.socket.write(goRequest(s.address, "0") + goRequest(s.address, "1"));
    // X-Micro-Id follows Micro-Id even though the handler only set Micro-Id.
    assert.equal(await c.read(goResponse("1").length), goResponse("1"));
    assert.equal(await c.read(goResponse("0").length), goResponse("0"));
    c.socket.destroy();
  });

  test("an oversized body is skipped and answered with a 413 Micro-Error; the connection stays usable", async () => {
    let calls = 0;
    const s = await start((m, c) => (calls++, greeter(m, c)), { maxBodySize: 10 });
    const c = await rawClient(s.address);
    const big = "x".repeat(5000);
    c.socket.write(goRequest(s.address, "7", big).slice(0, 300));
    c.socket.write(goRequest(s.address, "7", big).slice(300) + goRequest(s.address, "8", "{}"));
    const err = '{"id":"go.micro.server","code":413,"detail":"request body of 5000 bytes exceeds the limit of 10 bytes","status":"Request Entity Too Large"}';
    const expected =
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nAccept: application/json\r\nContent-Type: application/json\r\n" +
      `Micro-Endpoint: Say.Hello\r\nMicro-Error: ${err}\r\nMicro-Id: 7\r\nMicro-Method: Say.Hello\r\nMicro-Service: go.micro.srv.greeter\r\n` +
      `Timeout: 5000000000\r\nUser-Agent: Go-http-client/1.1\r\nX-Micro-Error: ${err}\r\nX-Micro-Id: 7\r\n\r\n`;
    assert.equal(await c.read(expected.length), expected);
    assert.equal(await c.read(goResponse("8").length), goResponse("8"));
    assert.equal(calls, 1);
    c.socket.destroy();
  });

  test("a malformed frame gets 400 and a close; other connections keep working", async () => {
    const s = await start();
    const good = await rawClient(s.address);
    const bad = await rawClient(s.address);
    bad.socket.write("THIS IS NOT HTTP\r\n\r\n");
    const reply = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 39\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
      "400 Bad Request: malformed HTTP version";
    assert.equal(await bad.read(reply.length), reply);
    await bad.closed;
    good.socket.write(goRequest(s.address, "3"));
    assert.equal(await good.read(goResponse("3").length), goResponse("3"));
    good.socket.destroy();
  });

  test("a reset mid-request is swallowed and the server keeps serving", async () => {
    const s = await start();
    const c = await rawClient(s.address);
    c.socket.write(goRequest(s.address, "1").slice(0, 50));
    c.socket.resetAndDestroy();
    await c.closed;
    const d = await rawClient(s.address);
    d.socket.write(goRequest(s.address, "2"));
    assert.equal(await d.read(goResponse("2").length), goResponse("2"));
    d.socket.destroy();
  });

  test("a throwing handler answers with a 500 Micro-Error", async () => {
    const s = await start(() => {
      throw new Error("handler bug");
    });
    const c = await rawClient(s.address);
    c.socket.write("POST / HTTP/1.1\r\nMicro-Id: 4\r\nContent-Length: 0\r\n\r\n");
    const err = '{"id":"go.micro.server","code":500,"detail":"handler bug","status":"Internal Server Error"}';
    const expected = `HTTP/1.1 200 OK\r\nContent-Length: 0\r\nMicro-Error: ${err}\r\nMicro-Id: 4\r\nX-Micro-Error: ${err}\r\nX-Micro-Id: 4\r\n\r\n`;
    assert.equal(await c.read(expected.length), expected);
    c.socket.destroy();
  });

  test("a peer that shuts down its sending side still gets its answers", async () => {
    const s = await start((msg, conn) => setTimeout(() => greeter(msg, conn), 20));
    const c = await rawClient(s.address);
    c.socket.end(goRequest(s.address, "0") + goRequest(s.address, "1"));
    assert.equal(await c.read(2 * goResponse("0").length), goResponse("0") + goResponse("1"));
    await c.closed;
  });

  test("close() ends idle connections, waits for busy ones, then resolves", async () => {
    const s = await listen("127.0.0.1:0", (msg, conn) => setTimeout(() => greeter(msg, conn), 100));
    const idle = await rawClient(s.address);
    const busy = await rawClient(s.address);
    busy.socket.write(goRequest(s.address, "0"));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(s.connections, 2);
    const t0 = Date.now();
    const closing = s.close(5000);
    await idle.closed;
    assert.equal(await busy.read(goResponse("0").length), goResponse("0"));
    await busy.closed;
    await closing;
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(s.connections, 0);
  });

  test("close() gives up on handlers that never answer after graceMs", async () => {
    const s = await listen("127.0.0.1:0", () => {});
    const c = await rawClient(s.address);
    c.socket.write(goRequest(s.address, "0"));
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await s.close(150);
    const took = Date.now() - t0;
    assert.ok(took >= 140 && took < 1000, `took ${took}`);
    await c.closed;
  });

  test("idleTimeout closes quiet connections", async () => {
    const s = await start(greeter, { idleTimeout: 50 });
    const c = await rawClient(s.address);
    c.socket.write(goRequest(s.address, "0"));
    await c.read(goResponse("0").length);
    await c.closed;
    for (let i = 0; i < 50 && s.connections > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.connections, 0);
  });
});
