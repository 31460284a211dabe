import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  Http1Parser,
  serializeRequest,
  serializeRequestHead,
  serializeResponse,
  serializeResponseHead,
  requestTemplate,
  responseTemplate,
  type Http1Error,
  type Http1Head,
  type Http1Sink,
} from "./http1.js";

import { GO_BODY, goRequest } from "./testdata/greeter.js";

type Event =
  | { kind: "msg"; head: Http1Head; body: string }
  | { kind: "oversize"; head: Http1Head; size: number }
  | { kind: "error"; status: number; message: string };

class Collect implements Http1Sink {
  events: Event[] = [];
  bodies: Buffer[] = [];
  onMessage(head: Http1Head, body: Buffer): void {
    this.bodies.push(body);
    this.events.push({ kind: "msg", head, body: body.toString() });
  }
  onOversize(head: Http1Head, size: number): void {
    this.events.push({ kind: "oversize", head, size });
  }
  onError(err: Http1Error): void {
    this.events.push({ kind: "error", status: err.status, message: err.message });
  }
}

function parse(kind: "request" | "response", input: string | Buffer, split: "whole" | "bytes" | number = "whole", opts = {}) {
  const sink = new Collect();
  const p = new Http1Parser(kind, sink, opts);
  const buf = typeof input === "string" ? Buffer.from(input) : input;
  const step = split === "whole" ? buf.length || 1 : split === "bytes" ? 1 : split;
  for (let i = 0; i < buf.length; i += step) p.push(buf.subarray(i, i + step));
  return { sink, parser: p };
}

describe("Http1Parser requests", () => {
  const twice = goRequest("127.0.0.1:8080", "0") + goRequest("127.0.0.1:8080", "1");

  for (const split of ["whole", "bytes", 7, 100] as const) {
    test(`two pipelined Go requests, split ${split}`, () => {
      const { sink } = parse("request", twice, split);
      assert.equal(sink.events.length, 2);
      for (const [i, e] of sink.events.entries()) {
        assert.equal(e.kind, "msg");
        if (e.kind !== "msg") continue;
        assert.equal(e.head.method, "POST");
        assert.equal(e.head.target, "/");
        assert.equal(e.body, GO_BODY);
        assert.deepEqual(e.head.header, {
          "User-Agent": "Go-http-client/1.1",
          "Content-Length": "16",
          Accept: "application/json",
          "Content-Type": "application/json",
          "Micro-Endpoint": "Say.Hello",
          "Micro-Id": String(i),
          "Micro-Method": "Say.Hello",
          "Micro-Service": "go.micro.srv.greeter",
          Timeout: "5000000000",
        });
      }
    });
  }

  test("a body inside one chunk is a view, not a copy", () => {
    const chunk = Buffer.from(goRequest("h:1"));
    const { sink } = parse("request", chunk);
    assert.equal(sink.bodies[0]!.buffer, chunk.buffer);
  });

  test("many messages in one chunk, with empty bodies and stray CRLFs", () => {
    let s = "";
    for (let i = 0; i < 50; i++) {
      const body = "x".repeat(i);
      s += `POST / HTTP/1.1\r\nmicro-id: ${i}\r\ncontent-length: ${i}\r\n\r\n${body}`;
      if (i % 10 === 0) s += "\r\n";
    }
    for (const split of ["whole", "bytes", 13] as const) {
      const { sink } = parse("request", s, split);
      assert.equal(sink.events.length, 50);
      sink.events.forEach((e, i) => {
        assert.equal(e.kind, "msg");
        if (e.kind === "msg") {
          assert.equal(e.head.header["Micro-Id"], String(i));
          assert.equal(e.body, "x".repeat(i));
        }
      });
    }
  });

  test("header handling: canonical keys, first duplicate wins, trimmed values, no Host", () => {
    const { sink } = parse(
      "request",
      "POST / HTTP/1.1\r\nhost: x\r\nmicro-id:   7  \r\nMICRO-ID: 8\r\nEmpty:\r\nKey With Space: v\r\nX-Tab:\tv\t\r\nUtf: héllo\r\n\r\n",
    );
    const e = sink.events[0]!;
    assert.equal(e.kind, "msg");
    if (e.kind !== "msg") return;
    assert.deepEqual(e.head.header, { "Micro-Id": "7", Empty: "", "Key With Space": "v", "X-Tab": "v", Utf: "héllo" });
  });

  test("chunked body, with extensions and trailers, split byte by byte", () => {
    const s =
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nMicro-Id: 1\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer-A: x\r\n\r\n" +
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nMicro-Id: 2\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n";
    for (const split of ["whole", "bytes", 5] as const) {
      const { sink } = parse("request", s, split);
      assert.deepEqual(sink.events.map((e) => (e.kind === "msg" ? [e.head.header["Micro-Id"], e.body] : e)), [
        ["1", "hello world"],
        ["2", "0123456789"],
      ]);
      const h = (sink.events[0] as { head: Http1Head }).head.header;
      assert.equal(h["Transfer-Encoding"], undefined);
    }
  });

  const malformed: Array<[string, string, number]> = [
    ["request line", "GARBAGE\r\n\r\n", 400],
    ["HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505],
    ["header without colon", "POST / HTTP/1.1\r\nNoColon\r\n\r\n", 400],
    ["empty header name", "POST / HTTP/1.1\r\n: v\r\n\r\n", 400],
    ["control byte in name", "POST / HTTP/1.1\r\nA\x01B: v\r\n\r\n", 400],
    ["obs-fold", "POST / HTTP/1.1\r\nA: v\r\n  more\r\n\r\n", 400],
    ["bad Content-Length", "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400],
    ["negative Content-Length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400],
    ["conflicting Content-Length", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400],
    ["TE and CL", "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["unknown TE", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
    ["bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
    ["missing CRLF after chunk", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXY", 400],
  ];
  for (const [name, input, status] of malformed) {
    test(`malformed: ${name}`, () => {
      for (const split of ["whole", "bytes"] as const) {
        const { sink, parser } = parse("request", input + goRequest("h:1"), split);
        assert.equal(sink.events.length, 1, JSON.stringify(sink.events));
        assert.equal(sink.events[0]!.kind, "error");
        assert.equal((sink.events[0] as { status: number }).status, status);
        assert.equal(parser.done, true);
        parser.push(Buffer.from(goRequest("h:1")));
        assert.equal(sink.events.length, 1);
      }
    });
  }

  test("header block limit, also without a terminator and byte by byte", () => {
    const big = `POST / HTTP/1.1\r\nX: ${"a".repeat(2000)}\r\n\r\n`;
    for (const split of ["whole", "bytes"] as const) {
      const { sink } = parse("request", big, split, { maxHeaderSize: 1024 });
      assert.deepEqual(sink.events.map((e) => e.kind), ["error"]);
      assert.equal((sink.events[0] as { status: number }).status, 431);
    }
    const endless = parse("request", "POST / HTTP/1.1\r\nX: " + "a".repeat(5000), "bytes", { maxHeaderSize: 1024 });
    assert.equal(endless.sink.events[0]?.kind, "error");
    const fits = parse("request", goRequest("h:1"), "whole", { maxHeaderSize: 1024 });
    assert.equal(fits.sink.events[0]?.kind, "msg");
  });

  test("oversized bodies are skipped, not buffered, and the stream stays in sync", () => {
    const over = `POST / HTTP/1.1\r\nMicro-Id: 1\r\nContent-Length: 100\r\n\r\n${"z".repeat(100)}`;
    const overChunked = `POST / HTTP/1.1\r\nMicro-Id: 2\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n${"y".repeat(64)}\r\n40\r\n${"y".repeat(64)}\r\n0\r\n\r\n`;
    const ok = `POST / HTTP/1.1\r\nMicro-Id: 3\r\nContent-Length: 2\r\n\r\nok`;
    for (const split of ["whole", "bytes", 9] as const) {
      const { sink } = parse("request", over + overChunked + ok, split, { maxBodySize: 99 });
      assert.deepEqual(
        sink.events.map((e) => [e.kind, (e as { head: Http1Head }).head.header["Micro-Id"], e.kind === "oversize" ? e.size : (e as { body: string }).body]),
        [["oversize", "1", 100], ["oversize", "2", 128], ["msg", "3", "ok"]],
      );
    }
  });
});

describe("Http1Parser responses", () => {
  test("status, Content-Length: 0 and pipelined answers", () => {
    const s =
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nMicro-Id: 1\r\n\r\n" +
      "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom" +
      "HTTP/1.0 404  Not Found\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx";
    for (const split of ["whole", "bytes"] as const) {
      const { sink } = parse("response", s, split);
      const heads = sink.events.map((e) => (e as { head: Http1Head }).head);
      assert.deepEqual(heads.map((h) => [h.statusCode, h.status, h.close]), [
        [200, "200 OK", false],
        [500, "500 Internal Server Error", false],
        [404, "404  Not Found", true],
      ]);
      assert.deepEqual(sink.events.map((e) => (e as { body: string }).body), ["", "boom", "x"]);
    }
  });

  test("no length: body runs until EOF; a truncated message is an error", () => {
    const { sink, parser } = parse("response", "HTTP/1.1 200 OK\r\nA: b\r\n\r\nsome ", "bytes");
    parser.push(Buffer.from("body"));
    assert.equal(sink.events.length, 0);
    parser.end();
    assert.equal((sink.events[0] as { body: string }).body, "some body");

    const t = parse("response", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    t.parser.end();
    assert.equal(t.sink.events[0]?.kind, "error");

    const clean = parse("response", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    clean.parser.end();
    assert.deepEqual(clean.sink.events.map((e) => e.kind), ["msg"]);
  });

  test("malformed status line", () => {
    for (const bad of ["HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 abc\r\n\r\n", "HTTP/1.1\r\n\r\n", "ICY 200 OK\r\n\r\n"]) {
      const { sink } = parse("response", bad);
      assert.equal(sink.events[0]?.kind, "error", bad);
    }
  });

  test("a throwing sink becomes one error, never an exception", () => {
    let errors = 0;
    const p = new Http1Parser("response", {
      onMessage() {
        throw new Error("bug");
      },
      onOversize() {},
      onError() {
        errors++;
      },
    });
    p.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    assert.equal(errors, 1);
  });
});

describe("serialisers", () => {
  test("head templates give the serialisers' exact bytes", () => {
    const shared = {
      "Micro-Service": "go.micro.srv.greeter", "Micro-Method": "Say.Hello", "Micro-Endpoint": "Say.Hello",
      "Content-Type": "application/json", Accept: "application/json", "X-Zeta": "last", "A-First": "first",
    };
    const t = requestTemplate(shared, "127.0.0.1:8080", "Go-http-client/1.1")!;
    const cases = [[16, "0", "5000000000"], [0, "12345", "1000000"], [1_048_576, "", "7000000"], [9, "ü-€-1", "5"], [10, "x".repeat(40) + "é", "1"]] as const;
    for (const [len, id, timeout] of cases) {
      const whole = { ...shared, "Micro-Id": id, Timeout: timeout };
      const head = t.fill(len, id, timeout);
      assert.equal(head, serializeRequestHead(whole, "127.0.0.1:8080", len, "Go-http-client/1.1"));
      // Written straight into a buffer (what the frame writer does), the bytes are the same.
      const out = Buffer.alloc(t.byteLength(len, id, timeout) + 2, "#");
      assert.equal(t.writeTo(out, 1, len, id, timeout), out.length - 1);
      assert.deepEqual(out.subarray(1, -1), Buffer.from(head));
    }
    assert.equal(t.fill(16, "0", "5000000000").replace("A-First: first\r\n", "").replace("X-Zeta: last\r\n", "") + GO_BODY, goRequest("127.0.0.1:8080"));

    const base = { ...shared, "Micro-Id": "0", "X-Micro-Id": "0", Timeout: "5000000000", "User-Agent": "Go-http-client/1.1" };
    for (const ct of ["application/json", undefined]) {
      const r = responseTemplate(base, ct)!;
      const header: Record<string, string> = { "Micro-Id": "77", "X-Micro-Id": "77" };
      if (ct) header["Content-Type"] = ct;
      assert.equal(r.fill(20, "77", "77"), serializeResponseHead(base, header, 20));
    }
  });

  test("no template when a header value holds a hole marker (the caller serialises in full)", () => {
    assert.equal(requestTemplate({ "X-Evil": "a\u0000A\u0000b" }, "h:1"), null);
    assert.equal(responseTemplate({ "X-Evil": "\u0000C\u0000" }, "application/json"), null);
    assert.notEqual(responseTemplate({ "X-Fine": "\u0000" }, "application/json"), null);
  });

  test("a parser that keeps some headers still frames by all of them", () => {
    const rsp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nAccept: a\r\nMicro-Id: 9\r\nMicro-Error: e\r\nTimeout: 1\r\n\r\nokHTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    const { sink } = parse("response", rsp, "whole", { keepHeaders: new Set(["Micro-Id", "Micro-Error"]) });
    assert.equal(sink.events.length, 2);
    const [a, b] = sink.events as Array<Extract<Event, { kind: "msg" }>>;
    assert.deepEqual(a!.head.header, { "Content-Length": "2", "Micro-Id": "9", "Micro-Error": "e" });
    assert.equal(a!.body, "ok");
    assert.equal(b!.head.close, true);
  });

  test("request bytes are what Go's Request.Write produces", () => {
    const msg = {
      header: {
        "Micro-Service": "go.micro.srv.greeter",
        "Micro-Method": "Say.Hello",
        "Micro-Endpoint": "Say.Hello",
        "Micro-Id": "0",
        Timeout: "5000000000",
        "Content-Type": "application/json",
        Accept: "application/json",
      },
      body: Buffer.from(GO_BODY),
    };
    assert.equal(serializeRequest(msg, "127.0.0.1:8080", "Go-http-client/1.1").toString(), goRequest("127.0.0.1:8080"));
    assert.equal(
      serializeRequestHead({ "micro-id": "1" }, "h:1", 0),
      "POST / HTTP/1.1\r\nHost: h:1\r\nUser-Agent: micro-ts/0.1\r\nContent-Length: 0\r\nMicro-Id: 1\r\n\r\n",
    );
  });

  test("request: User-Agent from the message wins; framing keys and bad names are dropped; values cleaned", () => {
    const head = serializeRequestHead(
      {
        "User-Agent": "mine",
        Host: "evil",
        "Content-Length": "99",
        "Transfer-Encoding": "chunked",
        "Bad:Name": "x",
        "Bad\r\nName": "x",
        "X-Multi": " a\r\nInjected: b \t",
        Zed: "z",
        Alpha: "a",
      },
      "h:1",
      3,
    );
    assert.equal(
      head,
      "POST / HTTP/1.1\r\nHost: h:1\r\nUser-Agent: mine\r\nContent-Length: 3\r\nAlpha: a\r\nX-Multi: a  Injected: b\r\nZed: z\r\n\r\n",
    );
    assert.equal(serializeRequestHead({ "User-Agent": "" }, "h:1", 0), "POST / HTTP/1.1\r\nHost: h:1\r\nContent-Length: 0\r\n\r\n");
  });

  test("response bytes: first request's headers (minus Host/CL/TE/Trailer) overwritten, sorted, Content-Length always", () => {
    const base = {
      "User-Agent": "Go-http-client/1.1",
      "Content-Length": "16",
      Host: "x",
      Trailer: "y",
      Accept: "application/json",
      "Content-Type": "application/json",
      "Micro-Id": "0",
      "Micro-Service": "go.micro.srv.greeter",
    };
    const rsp = serializeResponse(base, { header: { "micro-id": "5", "X-Micro-Id": "5", "Micro-Error": "e" }, body: Buffer.alloc(0) });
    assert.equal(
      rsp.toString(),
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nAccept: application/json\r\nContent-Type: application/json\r\n" +
        "Micro-Error: e\r\nMicro-Id: 5\r\nMicro-Service: go.micro.srv.greeter\r\nUser-Agent: Go-http-client/1.1\r\nX-Micro-Id: 5\r\n\r\n",
    );
    assert.equal(
      serializeResponseHead(null, { "Content-Length": "7", "Content-Type": "text/plain" }, 2),
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n",
    );
  });

  test("serialised frames parse back", () => {
    const header = { "Micro-Id": "9", Meta: "héllo wörld" };
    const body = Buffer.from([0, 1, 2, 255]);
    const req = parse("request", serializeRequest({ header, body }, "h:1"), "bytes");
    const e = req.sink.events[0] as { head: Http1Head };
    assert.equal(e.head.header.Meta, "héllo wörld");
    assert.deepEqual(req.sink.bodies[0], body);
    const rsp = parse("response", serializeResponse(null, { header, body }), "bytes");
    assert.deepEqual(rsp.sink.bodies[0], body);
  });
});

describe("for an HTTP gateway", () => {
  test("rawHeaders keeps every line as sent, Host and repeats included, and the HTTP version", () => {
    const sink = new Collect();
    const p = new Http1Parser("request", sink, { rawHeaders: true });
    p.push(Buffer.from("GET /a?b=1 HTTP/1.0\r\nHost: h\r\nx-Tag: 1\r\nX-Tag: 2\r\nContent-Length: 2\r\n\r\nok"));
    const e = sink.events[0]!;
    assert.equal(e.kind, "msg");
    if (e.kind !== "msg") return;
    assert.deepEqual(e.head.raw, ["Host", "h", "x-Tag", "1", "X-Tag", "2", "Content-Length", "2"]);
    assert.deepEqual(e.head.header, {}, "the canonical map is not built");
    assert.equal(e.head.http10, true);
    assert.equal(e.head.close, true);
    assert.equal(e.body, "ok");
  });

  test("onHead returning false stops the parser at that request; rest holds it and all after it", () => {
    class Stop extends Collect {
      heads: string[] = [];
      onHead(head: Http1Head): boolean {
        this.heads.push(head.target);
        return head.target !== "/stop";
      }
    }
    const sink = new Stop();
    const p = new Http1Parser("request", sink);
    const second = "POST /stop HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    p.push(Buffer.from(`GET /go HTTP/1.1\r\n\r\nPOST /st`));
    p.push(Buffer.from(`op HTTP/1.1\r\nContent-Length: 3\r\n\r\nab`));
    assert.deepEqual(sink.heads, ["/go", "/stop"]);
    assert.equal(sink.events.length, 1, "the first request was delivered");
    assert.equal(p.done, true);
    assert.equal(p.rest.toString(), second.slice(0, -1));
    p.push(Buffer.from("c")); // ignored: the rest is another parser's
    assert.equal(sink.events.length, 1);
  });
});
