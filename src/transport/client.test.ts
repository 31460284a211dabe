import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TransportClient } from "./client.js";
import { listen } from "./server.js";
import type { Message, ServerConnection, TransportServer } from "./transport.js";
import { goRequest } from "./testdata/greeter.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const msg = (id: number | string, body = `req ${id}`): Message => ({
  header: { "Micro-Id": String(id), "Content-Type": "application/octet-stream" },
  body: Buffer.from(body),
});

function echo(m: Message, conn: ServerConnection): void {
  const id = m.header["Micro-Id"]!;
  conn.send({ header: { "Micro-Id": id, "X-Micro-Id": id }, body: Buffer.concat([Buffer.from("echo "), m.body]) });
}

const cleanups: Array<() => unknown> = [];
after(() => Promise.all(cleanups.map((f) => f())));

async function start(handler: (m: Message, c: ServerConnection) => void = echo, options = {}): Promise<TransportServer> {
  const s = await listen("127.0.0.1:0", handler, options);
  cleanups.push(() => s.close(100));
  return s;
}
function client(opts = {}): TransportClient {
  const c = new TransportClient(opts);
  cleanups.push(() => c.close());
  return c;
}
async function rawServer(onSocket: (s: Socket) => void): Promise<{ server: Server; address: string }> {
  const server = createServer(onSocket);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => server.close());
  const a = server.address() as { port: number };
  return { server, address: `127.0.0.1:${a.port}` };
}
async function freePort(): Promise<string> {
  const { server, address } = await rawServer(() => {});
  await new Promise((r) => server.close(r));
  return address;
}

describe("transport client", () => {
  test("one request round-trips", async () => {
    const s = await start();
    const c = client();
    const rsp = await c.request(s.address, msg(1, "hi"), 1000);
    assert.equal(rsp.body.toString(), "echo hi");
    assert.equal(rsp.header["Micro-Id"], "1");
    assert.equal(rsp.header["X-Micro-Id"], "1");
  });

  test("writes Go's request bytes (with the configured User-Agent)", async () => {
    const seen: Buffer[] = [];
    const { address } = await rawServer((sock) => {
      sock.on("data", (d) => {
        seen.push(d);
        sock.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nMicro-Id: 0\r\n\r\nok");
      });
    });
    const c = client({ userAgent: "Go-http-client/1.1" });
    const header = {
      "Micro-Service": "go.micro.srv.greeter",
      "Micro-Method": "Say.Hello",
      "Micro-Endpoint": "Say.Hello",
      "Micro-Id": "0",
      Timeout: "5000000000",
      "Content-Type": "application/json",
      Accept: "application/json",
    };
    const rsp = await c.request(address, { header, body: Buffer.from('{"name":"John"}\n') }, 1000);
    assert.equal(rsp.body.toString(), "ok");
    assert.equal(
      Buffer.concat(seen).toString(),
      `POST / HTTP/1.1\r\nHost: ${address}\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 16\r\n` +
        "Accept: application/json\r\nContent-Type: application/json\r\nMicro-Endpoint: Say.Hello\r\n" +
        'Micro-Id: 0\r\nMicro-Method: Say.Hello\r\nMicro-Service: go.micro.srv.greeter\r\nTimeout: 5000000000\r\n\r\n{"name":"John"}\n',
    );
  });

  test("many concurrent requests are multiplexed and answered out of order", async () => {
    let maxPerConn = 0;
    const perConn = new Map<ServerConnection, number>();
    const s = await start((m, conn) => {
      const n = (perConn.get(conn) ?? 0) + 1;
      perConn.set(conn, n);
      maxPerConn = Math.max(maxPerConn, n);
      setTimeout(() => {
        perConn.set(conn, perConn.get(conn)! - 1);
        echo(m, conn);
      }, Math.random() * 20);
    });
    const c = client({ maxInFlightPerConnection: 64 });
    const N = 2000;
    const rsps = await Promise.all(Array.from({ length: N }, (_, i) => c.request(s.address, msg(i), 5000)));
    rsps.forEach((r, i) => {
      assert.equal(r.header["Micro-Id"], String(i));
      assert.equal(r.body.toString(), `echo req ${i}`);
    });
    assert.ok(maxPerConn <= 64 && maxPerConn > 1, `max in flight per connection ${maxPerConn}`);
    assert.ok(perConn.size <= Math.ceil(N / 64) + 1, `used ${perConn.size} connections`);
    assert.ok(c.connections <= perConn.size);
  });

  test("a busy address gets `spread` connections; one call at a time uses one", async () => {
    const conns = new Set<ServerConnection>();
    const s = await start((m, conn) => {
      conns.add(conn);
      setTimeout(() => echo(m, conn), 5);
    });
    const one = client({ spread: 4 });
    for (let i = 0; i < 20; i++) await one.request(s.address, msg(i), 1000);
    assert.equal(conns.size, 1, "sequential calls share one connection");

    conns.clear();
    const busy = client({ spread: 3 });
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 30 }, (_, i) => busy.request(s.address, msg(`${round}-${i}`), 2000)));
    }
    assert.equal(busy.connections, 3);
    assert.equal(conns.size, 3);
  });

  test("call(): shared header plus Micro-Id and Timeout, in Go's bytes; keepHeaders trims the answer", async () => {
    const seen: string[] = [];
    const { address } = await rawServer((sock) => {
      let buf = "";
      sock.on("data", (d) => {
        buf += d.toString();
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0 || buf.length < end + 4 + 2) return;
        seen.push(buf);
        const id = /Micro-Id: (\S*)/.exec(buf)![1];
        buf = "";
        sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\nAccept: x\r\nContent-Type: application/json\r\nMicro-Id: ${id}\r\nTimeout: 1\r\n\r\nok`);
      });
    });
    const c = client({ userAgent: "Go-http-client/1.1", keepHeaders: ["Content-Type"] });
    const shared = { "Micro-Service": "go.micro.srv.greeter", "Micro-Method": "Say.Hello", "Micro-Endpoint": "Say.Hello", "Content-Type": "application/json", Accept: "application/json" };
    const rsp = await c.call(address, shared, "0", 5000, Buffer.from('{"name":"John"}\n'));
    assert.equal(seen[0], goRequest(address));
    assert.deepEqual(rsp.header, { "Content-Length": "2", "Content-Type": "application/json", "Micro-Id": "0" });
    await c.call(address, shared, "1", 250, Buffer.from('{"name":"John"}\n'));
    assert.match(seen[1]!, /\r\nMicro-Id: 1\r\n.*\r\nTimeout: 250000000\r\n\r\n/s);
  });

  test("headers that defeat the templates still travel byte for byte, both ways", async () => {
    const s = await start((m, conn) => conn.reply(m.header["Micro-Id"]!, "application/json", Buffer.from(`{"got":${JSON.stringify(m.header["A-Evil"])}}`)));
    const c = client();
    const evil = "x\u0000B\u0000y";
    const shared = { "Micro-Service": "s", "Micro-Method": "A.B", "Micro-Endpoint": "A.B", "A-Evil": evil };
    for (const id of ["1", "2"]) {
      const rsp = await c.call(s.address, shared, id, 1000, Buffer.from("{}"));
      assert.equal(rsp.header["Micro-Id"], id);
      assert.equal(rsp.header["X-Micro-Id"], id);
      assert.equal(rsp.header["A-Evil"], evil, "the first request's headers echo back");
      assert.deepEqual(JSON.parse(rsp.body.toString()), { got: evil });
    }
  });

  test("maxInFlightPerConnection=1 sends one request per connection at a time, bounded by poolSize", async () => {
    let maxPerConn = 0;
    const perConn = new Map<ServerConnection, number>();
    const s = await start((m, conn) => {
      const n = (perConn.get(conn) ?? 0) + 1;
      perConn.set(conn, n);
      maxPerConn = Math.max(maxPerConn, n);
      setTimeout(() => {
        perConn.set(conn, perConn.get(conn)! - 1);
        echo(m, conn);
      }, 5);
    });
    const c = client({ maxInFlightPerConnection: 1, poolSize: 4 });
    const rsps = await Promise.all(Array.from({ length: 40 }, (_, i) => c.request(s.address, msg(i), 5000)));
    rsps.forEach((r, i) => assert.equal(r.body.toString(), `echo req ${i}`));
    assert.equal(maxPerConn, 1);
    assert.equal(perConn.size, 4);
  });

  test("go-micro mode takes an answer without Micro-Id, or with a different one, as the single request's", async () => {
    const { address } = await rawServer((sock) => {
      let n = 0;
      sock.on("data", () => {
        sock.write(n++ === 0 ? "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na" : "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nMicro-Id: 999\r\n\r\nb");
      });
    });
    const c = client({ maxInFlightPerConnection: 1 });
    assert.equal((await c.request(address, msg(1), 1000)).body.toString(), "a");
    assert.equal((await c.request(address, msg(2), 1000)).body.toString(), "b");
  });

  test("a refused connection fails with ECONNREFUSED naming the address", async () => {
    const address = await freePort();
    const c = client();
    await assert.rejects(c.request(address, msg(1), 1000), (err: Error & { code: string }) => {
      assert.equal(err.code, "ECONNREFUSED");
      assert.ok(err.message.includes(address), err.message);
      return true;
    });
    // Queued requests behind the same failed dial fail too.
    const all = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => c.request(address, msg(i), 1000)));
    assert.ok(all.every((r) => r.status === "rejected" && (r.reason as { code: string }).code === "ECONNREFUSED"));
    for (let i = 0; i < 50 && c.connections > 0; i++) await sleep(10);
    assert.equal(c.connections, 0);
  });

  test("a bad address fails with EINVAL", async () => {
    await assert.rejects(client().request("nope", msg(1), 100), { code: "EINVAL" });
  });

  test("a dial that hangs fails with ETIMEDOUT after dialTimeout", async () => {
    // A name that never resolves keeps the socket connecting, like a black-holed SYN.
    const c = client({ dialTimeout: 100, lookup: () => {} });
    const t0 = Date.now();
    await assert.rejects(c.request("hang.example:80", msg(1), 5000), (err: Error & { code: string }) => {
      assert.equal(err.code, "ETIMEDOUT");
      assert.match(err.message, /^dial tcp hang\.example:80: i\/o timeout/);
      return true;
    });
    assert.ok(Date.now() - t0 < 1000);
    await sleep(10);
    assert.equal(c.connections, 0);
  });

  test("timeout: ETIMEDOUT, the late answer is discarded, the connection keeps working", async () => {
    const s = await start((m, conn) => setTimeout(() => echo(m, conn), m.header["Micro-Id"] === "slow" ? 150 : 1));
    const c = client();
    const t0 = Date.now();
    await assert.rejects(c.request(s.address, msg("slow"), 50), { code: "ETIMEDOUT" });
    assert.ok(Date.now() - t0 < 140);
    // The late answer arrives while this one is the only live request on the connection.
    const rsp = await c.request(s.address, msg("fast"), 1000);
    assert.equal(rsp.body.toString(), "echo req fast");
    await sleep(200);
    assert.equal((await c.request(s.address, msg("again"), 1000)).body.toString(), "echo req again");
    assert.equal(s.connections, 1);
  });

  test("timeout in go-micro mode drops the connection", async () => {
    const s = await start((m, conn) => setTimeout(() => echo(m, conn), m.header["Micro-Id"] === "slow" ? 150 : 1));
    const c = client({ maxInFlightPerConnection: 1 });
    await assert.rejects(c.request(s.address, msg("slow"), 30), { code: "ETIMEDOUT" });
    assert.equal((await c.request(s.address, msg("next"), 1000)).body.toString(), "echo req next");
  });

  test("a non-200 answer fails with EHTTPSTATUS and '<status>: <body>'", async () => {
    const { address } = await rawServer((sock) => {
      sock.on("data", () => sock.write("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nMicro-Id: 1\r\n\r\nboom"));
    });
    await assert.rejects(client().request(address, msg(1), 1000), {
      code: "EHTTPSTATUS",
      message: "500 Internal Server Error: boom",
    });
  });

  test("a dying connection fails all its in-flight requests with ECONNRESET", async () => {
    let sockets = 0;
    const { address } = await rawServer((sock) => {
      sockets++;
      sock.once("data", () => setTimeout(() => sock.destroy(), 20));
    });
    const c = client();
    const all = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => c.request(address, msg(i), 1000)));
    for (const r of all) {
      assert.equal(r.status, "rejected");
      assert.equal((r.reason as { code: string }).code, "ECONNRESET");
      assert.ok((r.reason as Error).message.includes(address));
    }
    assert.equal(sockets, 1);
    assert.equal(c.connections, 0);
  });

  test("an oversized answer fails with EMSGSIZE and the connection stays usable", async () => {
    const s = await start((m, conn) => {
      const id = m.header["Micro-Id"]!;
      conn.send({ header: { "Micro-Id": id }, body: Buffer.alloc(id === "big" ? 5000 : 3, 97) });
    });
    const c = client({ maxBodySize: 1000 });
    await assert.rejects(c.request(s.address, msg("big"), 1000), { code: "EMSGSIZE" });
    assert.equal((await c.request(s.address, msg("small"), 1000)).body.toString(), "aaa");
    assert.equal(s.connections, 1);
  });

  test("a server closing with requests in flight: they finish, then the client reconnects", async () => {
    const s = await listen("127.0.0.1:0", (m, conn) => setTimeout(() => echo(m, conn), 80));
    const c = client();
    const inflight = Promise.all(Array.from({ length: 20 }, (_, i) => c.request(s.address, msg(i), 2000)));
    await sleep(20);
    await s.close(2000);
    const rsps = await inflight;
    assert.equal(rsps.length, 20);
    await sleep(10);
    assert.equal(c.connections, 0);
    await assert.rejects(c.request(s.address, msg("after"), 500), { code: "ECONNREFUSED" });
  });

  test("idle connections close after idleTtl", async () => {
    const s = await start();
    const c = client({ idleTtl: 60 });
    await c.request(s.address, msg(1), 1000);
    assert.equal(c.connections, 1);
    await sleep(250);
    assert.equal(c.connections, 0);
    assert.equal(s.connections, 0);
  });

  test("close() fails queued and in-flight requests with ECLOSED", async () => {
    const s = await start(() => {});
    const c = new TransportClient({ maxInFlightPerConnection: 1, poolSize: 1 });
    const a = c.request(s.address, msg(1), 5000);
    const b = c.request(s.address, msg(2), 5000);
    await sleep(30);
    c.close();
    const [ra, rb] = await Promise.allSettled([a, b]);
    assert.equal(ra.status === "rejected" && ra.reason.code, "ECLOSED");
    assert.equal(rb.status === "rejected" && rb.reason.code, "ECLOSED");
    await assert.rejects(c.request(s.address, msg(3), 5000), { code: "ECLOSED" });
  });

  test("an idle client does not keep the process alive", async () => {
    const s = await start();
    const clientUrl = new URL("./client.ts", import.meta.url).href;
    const script = `
      import { TransportClient } from ${JSON.stringify(clientUrl)};
      const c = new TransportClient();
      const r = await c.request(${JSON.stringify(s.address)}, { header: { "Micro-Id": "1" }, body: Buffer.from("x") }, 5000);
      console.log(r.body.toString());
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const t0 = Date.now();
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
    assert.equal(out.trim(), "echo x");
    assert.ok(Date.now() - t0 < 10_000);
  });
});
