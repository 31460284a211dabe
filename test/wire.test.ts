// A raw TCP client writes the exact bytes a Go go-micro v2 client writes
// (Go's Request.Write: Host, User-Agent, Content-Length, then sorted headers)
// and checks, byte for byte, what a Go go-micro server would answer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { nodesOf, startService, stopAll, tempDir, type Proc } from "./helpers.js";

let dir: { path: string; remove(): Promise<void> };
let greeter: Proc;
let address: string;

before(async () => {
  dir = await tempDir();
  greeter = await startService("examples/greeter/srv/main.ts", dir.path);
  address = (await nodesOf(dir.path, "go.micro.srv.greeter"))[0]!.address;
});
after(async () => {
  await stopAll([greeter]);
  await dir.remove();
});

/** The request bytes of go-micro's HTTP transport with its mucp client headers. */
function goRequest(id: number, body: string, extra: Record<string, string> = {}, contentType = "application/json"): string {
  const headers: Record<string, string> = {
    Accept: contentType,
    "Content-Type": contentType,
    "Micro-Endpoint": "Say.Hello",
    "Micro-Id": String(id),
    "Micro-Method": "Say.Hello",
    "Micro-Service": "go.micro.srv.greeter",
    Timeout: "5000000000",
    ...extra,
  };
  const sorted = Object.keys(headers).sort().map((k) => `${k}: ${headers[k]}\r\n`).join("");
  return `POST / HTTP/1.1\r\nHost: ${address}\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${sorted}\r\n${body}`;
}

/** Sends bytes on one connection and collects `responses` HTTP responses. */
class Conn {
  private readonly socket: Socket;
  private data = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  constructor() {
    this.socket = connect(Number(address.split(":").pop()), "127.0.0.1");
    this.socket.on("data", (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.waiters.splice(0).forEach((w) => w());
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  write(bytes: string) {
    this.socket.write(bytes);
  }
  /** The next complete response, as text. */
  async next(): Promise<string> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const end = this.data.indexOf("\r\n\r\n");
      if (end >= 0) {
        const head = this.data.subarray(0, end).toString();
        const len = Number(/\r\nContent-Length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (this.data.length >= end + 4 + len) {
          const out = this.data.subarray(0, end + 4 + len).toString();
          this.data = this.data.subarray(end + 4 + len);
          return out;
        }
      }
      if (this.closed || Date.now() > deadline) throw new Error(`no complete response; have ${JSON.stringify(this.data.toString())}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }
  close() {
    this.socket.destroy();
  }
}

/** Go's Response.Write: status, Content-Length, then the first request's headers merged with the answer's, sorted. */
function goResponse(headers: Record<string, string>, body: string): string {
  const sorted = Object.keys(headers).sort().map((k) => `${k}: ${headers[k]}\r\n`).join("");
  return `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${sorted}\r\n${body}`;
}

const firstRequestHeaders = {
  Accept: "application/json",
  "Content-Type": "application/json",
  "Micro-Endpoint": "Say.Hello",
  "Micro-Method": "Say.Hello",
  "Micro-Service": "go.micro.srv.greeter",
  Timeout: "5000000000",
  "User-Agent": "Go-http-client/1.1",
};

test("a Go client's request gets a Go server's answer, byte for byte, on a kept-alive connection", async () => {
  const c = new Conn();
  try {
    c.write(goRequest(0, '{"name":"John"}\n'));
    assert.equal(await c.next(), goResponse({ ...firstRequestHeaders, "Micro-Id": "0", "X-Micro-Id": "0" }, '{"msg":"Hello John"}\n'));
    c.write(goRequest(1, '{"name":"Jane"}\n'));
    assert.equal(await c.next(), goResponse({ ...firstRequestHeaders, "Micro-Id": "1", "X-Micro-Id": "1" }, '{"msg":"Hello Jane"}\n'));
  } finally {
    c.close();
  }
});

test("a handler error comes back in Micro-Error with an empty body", async () => {
  const c = new Conn();
  try {
    c.write(goRequest(7, '{"name":""}\n'));
    const err = '{"id":"go.micro.srv.greeter","code":400,"detail":"name is required","status":"Bad Request"}';
    assert.equal(await c.next(), goResponse({ ...firstRequestHeaders, "Micro-Id": "7", "X-Micro-Id": "7", "Micro-Error": err, "X-Micro-Error": err }, ""));
  } finally {
    c.close();
  }
});

test("the X-Micro-* header forms and Micro-Method alone are understood", async () => {
  const c = new Conn();
  try {
    const body = '{"name":"X"}';
    const raw = `POST / HTTP/1.1\r\nHost: ${address}\r\nContent-Length: ${body.length}\r\nContent-Type: application/json\r\nX-Micro-Id: 3\r\nX-Micro-Method: Say.Hello\r\nX-Micro-Service: go.micro.srv.greeter\r\n\r\n${body}`;
    c.write(raw);
    const rsp = await c.next();
    assert.match(rsp, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(rsp.endsWith('\r\n\r\n{"msg":"Hello X"}\n'), rsp);
    assert.match(rsp, /\r\nMicro-Id: 3\r\n/);
  } finally {
    c.close();
  }
});

test("an unknown Content-Type gets upstream's plain-text answer", async () => {
  const c = new Conn();
  try {
    c.write(goRequest(4, "<name>John</name>", {}, "text/xml"));
    const rsp = await c.next();
    assert.ok(rsp.endsWith("\r\n\r\nUnsupported Content-Type: text/xml"), rsp);
    assert.match(rsp, /\r\nContent-Type: text\/plain\r\n/);
  } finally {
    c.close();
  }
});

test("bad JSON, a malformed frame and a huge body: clear errors, the server keeps serving", async () => {
  const c = new Conn();
  try {
    c.write(goRequest(5, "{nope"));
    assert.match(await c.next(), /\r\nMicro-Error: \{"id":"go\.micro\.server","code":400,"detail":"rpc: router cannot decode request: invalid JSON[^\r]*","status":"Bad Request"\}\r\n/);
  } finally {
    c.close();
  }
  const big = new Conn();
  try {
    const body = "x".repeat(5 * 1024 * 1024);
    big.write(goRequest(8, body));
    assert.match(await big.next(), /"code":413/);
    big.write(goRequest(9, '{"name":"After"}'));
    assert.match(await big.next(), /Hello After/);
  } finally {
    big.close();
  }
  const bad = new Conn();
  try {
    bad.write("GARBAGE\r\n\r\n");
    assert.match(await bad.next(), /^HTTP\/1\.1 400 Bad Request\r\n/);
  } finally {
    bad.close();
  }
  const good = new Conn();
  try {
    good.write(goRequest(10, '{"name":"Still"}'));
    assert.match(await good.next(), /Hello Still/);
  } finally {
    good.close();
  }
});
