// micro web as a user runs it: real processes (the greeter service, the
// greeter web app, `micro web`) on a temporary local registry, plus web
// services in this process for what the examples do not do (echo the request,
// WebSocket, hang). Everything on loopback.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request, type IncomingMessage } from "node:http";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { WebSocket, WebSocketServer } from "ws";
import { LocalRegistry, WebService } from "../src/index.js";
import { silentLogger } from "../src/util/log.js";
import { ROOT, micro, nodesOf, startGateway, startService, stopAll, tempDir, waitFor, type GatewayProc, type Proc } from "./helpers.js";

const SRV = "examples/greeter/srv/main.ts";
const WEB_APP = "examples/greeter/web/main.ts";

type WebProc = GatewayProc;

/** Runs `micro web` on a free loopback port and waits until it listens. */
function startMicroWeb(registryDir: string, args: string[] = []): Promise<WebProc> {
  return startGateway("web", [`--registry_address=${registryDir}`], ["--address=127.0.0.1:0", ...args]);
}

interface Answer {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

function http(address: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent } = {}): Promise<Answer> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host, port: Number(port), path, method: init.method ?? "GET", headers: init.headers, agent: init.agent ?? false }, (rsp) => {
      answered = true; // an early answer (413) may cut our upload: the answer is what counts
      let body = "";
      rsp.setEncoding("utf8");
      rsp.on("data", (c: string) => (body += c));
      rsp.on("end", () => resolve({ status: rsp.statusCode!, headers: rsp.headers, body }));
      rsp.on("error", reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`${path}: no answer within 20 s`)));
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    req.end(init.body);
  });
}

function json(a: Answer): Record<string, unknown> {
  assert.match(String(a.headers["content-type"]), /^application\/json/, a.body);
  return JSON.parse(a.body) as Record<string, unknown>;
}

async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe("micro web", () => {
  let dir: { path: string; remove(): Promise<void> };
  let procs: Proc[] = [];
  let web: WebProc;
  const apps: WebService[] = [];
  /** Every path the echo app was asked for. */
  const echoed: string[] = [];

  before(async () => {
    dir = await tempDir("micro-web-test-");
    const inProcess = (name: string) =>
      new WebService({ name, registry: new LocalRegistry({ dir: dir.path }), address: "127.0.0.1:0", args: [], env: {}, handleSignals: false, logger: silentLogger });
    // echoes what it got, and echoes WebSocket messages
    const echo = inProcess("go.micro.web.echo").handle("/", (req, res) => {
      echoed.push(req.url ?? "");
      const body = JSON.stringify({
        method: req.method,
        path: req.url,
        basePath: req.headers["x-micro-web-base-path"] ?? null,
        host: req.headers.host,
        forwardedFor: req.headers["x-forwarded-for"] ?? null,
        forwardedHost: req.headers["x-forwarded-host"] ?? null,
      });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(body);
    });
    const wss = new WebSocketServer({ server: echo.server });
    wss.on("connection", (ws, req) => {
      ws.send(`hello ${req.url} via ${req.headers["x-micro-web-base-path"]}`);
      ws.on("message", (d) => ws.send(`echo: ${d.toString()}`));
    });
    // never answers
    const slow = inProcess("go.micro.web.slow").handle("/", () => {});
    apps.push(echo, slow);
    const [srv, app] = await Promise.all([startService(SRV, dir.path), startService(WEB_APP, dir.path), echo.start(), slow.start()]);
    procs = [srv, app] as Proc[];
    web = await startMicroWeb(dir.path, ["--timeout=1s"]);
  });

  after(async () => {
    if (web && web.child.exitCode === null) {
      web.child.kill("SIGKILL");
      await web.exited;
    }
    await Promise.all(apps.map((a) => a.stop()));
    await stopAll(procs);
    await dir.remove();
  });

  test("proxies /<name>/… to go.micro.web.<name>: prefix stripped, base path header, Host and X-Forwarded-* set", async () => {
    const a = await http(web.address, "/echo/some/path?x=1&y=two");
    assert.equal(a.status, 200);
    const got = json(a);
    assert.equal(got.path, "/some/path?x=1&y=two");
    assert.equal(got.basePath, "/echo");
    assert.equal(got.host, web.address, "the client's Host");
    assert.equal(got.forwardedHost, web.address);
    assert.equal(got.forwardedFor, "127.0.0.1");
    const root = json(await http(web.address, "/echo/"));
    assert.equal(root.path, "/");
    // /echo (no slash) sends a browser to /echo/, as a folder
    const bare = await http(web.address, "/echo?q=1");
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.location, "/echo/?q=1");
    // other methods go through as they are
    const post = json(await http(web.address, "/echo/form", { method: "POST", body: "a=1", headers: { "Content-Type": "application/x-www-form-urlencoded" } }));
    assert.deepEqual([post.method, post.path], ["POST", "/form"]);
  });

  test("the greeter web app is served through the proxy", async () => {
    const a = await http(web.address, "/greeter/", { headers: { Accept: "text/html" } });
    assert.equal(a.status, 200);
    assert.match(String(a.headers["content-type"]), /text\/html/);
    assert.match(a.body, /<h1>Greeter<\/h1>/);
    assert.match(a.body, /served at <code>\/greeter\/<\/code>/, "the app saw X-Micro-Web-Base-Path");
  });

  test("WebSocket through the proxy", async () => {
    const ws = new WebSocket(`ws://${web.address}/echo/socket?room=1`);
    const messages: string[] = [];
    const got = new Promise<void>((resolve, reject) => {
      ws.on("message", (d) => {
        messages.push(d.toString());
        if (messages.length === 1) ws.send("ping");
        if (messages.length === 2) resolve();
      });
      ws.on("error", reject);
      setTimeout(() => reject(new Error(`only ${JSON.stringify(messages)} within 5 s`)), 5_000).unref();
    });
    await got;
    assert.deepEqual(messages, ["hello /socket?room=1 via /echo", "echo: ping"]);
    ws.close();
    // to a web service that is not there: refused with a status, not left hanging
    const status = await new Promise<number>((resolve) => {
      const bad = new WebSocket(`ws://${web.address}/nothere/socket`);
      bad.on("unexpected-response", (_req, rsp) => resolve(rsp.statusCode!));
      bad.on("error", () => resolve(-1));
    });
    assert.equal(status, 404);
  });

  test("/services and /service/{name} answer JSON when asked (Content-Type or Accept)", async () => {
    for (const headers of [{ "Content-Type": "application/json" }, { Accept: "application/json" }] as Record<string, string>[]) {
      const list = json(await http(web.address, "/services", { headers }));
      const names = (list.services as { name: string }[]).map((s) => s.name);
      for (const n of ["go.micro.srv.greeter", "go.micro.web.greeter", "go.micro.web.echo"]) assert.ok(names.includes(n), `${n} in ${names}`);
    }
    const one = json(await http(web.address, "/service/go.micro.srv.greeter", { headers: { "Content-Type": "application/json" } }));
    const versions = one.services as { name: string; version: string; endpoints: { name: string; request: unknown }[]; nodes: unknown[] }[];
    assert.equal(versions.length, 1);
    assert.equal(versions[0]!.name, "go.micro.srv.greeter");
    assert.equal(versions[0]!.nodes.length, 1);
    assert.deepEqual(versions[0]!.endpoints.map((e) => e.name), ["Say.Hello"]);
    assert.deepEqual(versions[0]!.endpoints[0]!.request, { name: "Request", type: "Request", values: [{ name: "name", type: "string", values: null }] });
    // without asking for JSON: the dashboard's HTML
    const page = await http(web.address, "/service/go.micro.srv.greeter");
    assert.match(String(page.headers["content-type"]), /text\/html/);
    assert.match(page.body, /<script type="application\/json" id="state">/);
    // unknown
    const missing = await http(web.address, "/service/go.micro.srv.nope", { headers: { Accept: "application/json" } });
    assert.equal(missing.status, 404);
    assert.deepEqual(json(missing), { id: "go.micro.web", code: 404, detail: "service go.micro.srv.nope: not found", status: "Not Found" });
  });

  test("/rpc: the notes' form and JSON calls", async () => {
    const form = await http(web.address, "/rpc", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ service: "go.micro.srv.greeter", method: "Say.Hello", request: '{"name": "John"}' }).toString(),
    });
    assert.equal(form.status, 200);
    assert.deepEqual(json(form), { msg: "Hello John" });
    const body = await http(web.address, "/rpc", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ service: "go.micro.srv.greeter", method: "Say.Hello", request: { name: "John" } }),
    });
    assert.equal(body.status, 200);
    assert.deepEqual(json(body), { msg: "Hello John" });
    // the service's own error, with its status
    const bad = await http(web.address, "/rpc", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ service: "go.micro.srv.greeter", endpoint: "Say.Hello", request: { name: "" } }),
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(json(bad), { id: "go.micro.srv.greeter", code: 400, detail: "name is required", status: "Bad Request" });
    // missing service: upstream's 400
    const none = await http(web.address, "/rpc", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    assert.deepEqual([none.status, json(none).detail], [400, "invalid service"]);
    // another site's page cannot make a visitor's browser call it
    const csrf = await http(web.address, "/rpc", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "http://evil.example" },
      body: "service=go.micro.srv.greeter&method=Say.Hello&request=%7B%22name%22%3A%22x%22%7D",
    });
    assert.equal(csrf.status, 403);
    const same = await http(web.address, "/rpc", {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: `http://${web.address}` },
      body: JSON.stringify({ service: "go.micro.srv.greeter", method: "Say.Hello", request: { name: "John" } }),
    });
    assert.equal(same.status, 200);
  });

  test("an unknown web service: 404 error JSON, or a page for a browser", async () => {
    const a = await http(web.address, "/nothere/x");
    assert.equal(a.status, 404);
    assert.deepEqual(json(a), { id: "go.micro.web", code: 404, detail: "service go.micro.web.nothere: not found", status: "Not Found" });
    const page = await http(web.address, "/nothere/x", { headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    assert.equal(page.status, 404);
    assert.match(String(page.headers["content-type"]), /text\/html/);
    assert.match(page.body, /service go\.micro\.web\.nothere: not found/);
    assert.match(page.body, /<a href="\/greeter\/">greeter<\/a>/, "lists the web apps there are");
    // a first segment that cannot be a service name
    const odd = await http(web.address, "/no_such!/x");
    assert.equal(odd.status, 404);
    assert.equal(json(odd).id, "go.micro.web");
  });

  test("path traversal attempts are refused with 400 and never reach a web service", async () => {
    const before = echoed.length;
    for (const path of [
      "/echo/../../etc/passwd",
      "/echo/%2e%2e/%2e%2e/etc/passwd",
      "/echo/%2E%2E/secret",
      "/echo/..%2f..%2fetc/passwd",
      "/echo/..%5c..%5cwindows",
      "/echo/./x",
      "/echo/a/%2e/b",
      "/echo/%00",
      "/echo/%zz",
    ]) {
      const a = await http(web.address, path);
      assert.equal(a.status, 400, path);
      const e = json(a);
      assert.equal(e.id, "go.micro.web", path);
      assert.equal(e.code, 400, path);
    }
    assert.equal(echoed.length, before, `the echo app saw ${JSON.stringify(echoed.slice(before))}`);
    // a name that merely contains dots is fine
    const ok = json(await http(web.address, "/echo/file.name..txt"));
    assert.equal(ok.path, "/file.name..txt");
  });

  test("a web service that hangs: 504 error JSON within the timeout", async () => {
    const started = Date.now();
    const a = await http(web.address, "/slow/anything");
    const took = Date.now() - started;
    assert.equal(a.status, 504);
    const e = json(a);
    assert.equal(e.id, "go.micro.web");
    assert.equal(e.code, 504);
    assert.equal(e.status, "Gateway Timeout");
    assert.ok(took >= 900 && took < 4_000, `answered after ${took} ms (timeout 1s)`);
  });

  test("a node that refuses: the request goes to another node", async () => {
    const registry = new LocalRegistry({ dir: dir.path });
    const dead = { name: "go.micro.web.echo", version: "latest", metadata: null, endpoints: null, nodes: [{ id: "dead-node", address: "127.0.0.1:1", metadata: null }] };
    try {
      await registry.register(dead, { ttl: 60_000 });
      await waitFor("micro web to see the dead node", async () => {
        const list = json(await http(web.address, "/service/go.micro.web.echo", { headers: { Accept: "application/json" } }));
        return ((list.services as { nodes: { id: string }[] }[])[0]?.nodes ?? []).some((n) => n.id === "dead-node");
      });
      await new Promise((r) => setTimeout(r, 300)); // the proxy's cache follows the registry by watch
      for (let i = 0; i < 20; i++) {
        const a = await http(web.address, `/echo/n${i}`);
        assert.equal(a.status, 200, a.body);
      }
    } finally {
      await registry.deregister(dead);
      await registry.close();
    }
  });

  test("the live feed: a node that registers is announced", async () => {
    const events = await new Promise<string>((resolve, reject) => {
      const [host, port] = web.address.split(":");
      let text = "";
      let registered = false;
      const registry = new LocalRegistry({ dir: dir.path });
      const svc = { name: "go.micro.srv.live", version: "1", metadata: null, endpoints: null, nodes: [{ id: "live-1", address: "127.0.0.1:9", metadata: null }] };
      const req = request({ host, port: Number(port), path: "/_/events", agent: false }, (rsp) => {
        assert.match(String(rsp.headers["content-type"]), /^text\/event-stream/);
        rsp.setEncoding("utf8");
        rsp.on("data", (c: string) => {
          text += c;
          if (!registered) {
            registered = true;
            void registry.register(svc, { ttl: 60_000 });
          }
          if (/event: registry\ndata: .*"go\.micro\.srv\.live"/.test(text)) {
            req.destroy();
            void registry.deregister(svc).finally(() => registry.close());
            resolve(text);
          }
        });
      });
      req.on("error", () => {});
      setTimeout(() => reject(new Error(`no event within 10 s:\n${text}`)), 10_000).unref();
      req.end();
    });
    assert.match(events, /"action":"create","service":"go\.micro\.srv\.live","version":"1","nodes":\[\{"id":"live-1","address":"127\.0\.0\.1:9"\}\]/);
  });

  test("thousands of bad requests: each answered, no crash, no memory growth", async (t) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const bad: Array<() => Promise<Answer>> = [
      () => http(web.address, "/echo/%2e%2e/%2e%2e/etc/passwd", { agent }),
      () => http(web.address, "/nothere/x", { agent }),
      () => http(web.address, "/rpc", { method: "POST", agent, headers: { "Content-Type": "application/json" }, body: "{not json" }),
      () => http(web.address, "/rpc", { method: "POST", agent, headers: { "Content-Type": "text/plain" }, body: "service=&method=" }),
      () => http(web.address, "/rpc", { method: "GET", agent }),
      () => http(web.address, "/rpc", { method: "POST", agent, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ service: "go.micro.srv.nope", method: "X.Y" }) }),
      () => http(web.address, "/service/nope", { agent, headers: { Accept: "application/json" } }),
      () => http(web.address, "/services", { method: "DELETE", agent }),
      () => http(web.address, "/%zz", { agent }),
    ];
    const expect = [400, 404, 400, 400, 405, 500, 404, 405, 400];
    const round = async (n: number) => {
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < n) {
          const i = next++ % bad.length;
          const a = await bad[i]!().catch((err: Error) => {
            throw new Error(`request kind ${i}: ${err.message}`);
          });
          assert.equal(a.status, expect[i], `request kind ${i}: ${a.status} ${a.body}`);
          assert.equal(JSON.parse(a.body).id === undefined, false, a.body);
        }
      }));
    };
    try {
      await round(600); // warm up: code paths compiled, pools filled
      const pid = web.child.pid!;
      const rssBefore = await rss(pid);
      await round(4_000);
      await round(4_000);
      const rssAfter = await rss(pid);
      const grown = rssAfter - rssBefore;
      t.diagnostic(`micro web RSS ${(rssBefore / 1048576).toFixed(1)} MiB → ${(rssAfter / 1048576).toFixed(1)} MiB over 8000 bad requests`);
      assert.ok(grown < 32 * 1024 * 1024, `RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
      // a few bodies over the limit: 413, not buffered (on a kept-alive connection, which
      // micro web drains; with Connection: close it answers and hangs up mid-upload)
      const big = Buffer.alloc(11 * 1024 * 1024, 0x20);
      for (let i = 0; i < 5; i++) {
        const a = await http(web.address, "/rpc", { method: "POST", agent, headers: { "Content-Type": "application/json" }, body: big });
        assert.equal(a.status, 413);
      }
      assert.equal(web.child.exitCode, null, "still running");
      const ok = await http(web.address, "/rpc", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ service: "go.micro.srv.greeter", method: "Say.Hello", request: { name: "John" } }),
      });
      assert.deepEqual(json(ok), { msg: "Hello John" });
    } finally {
      agent.destroy();
    }
  });

  test("the dashboard's pages and assets are served by micro web itself", async () => {
    for (const path of ["/", "/services", "/client", "/service/go.micro.srv.greeter"]) {
      const a = await http(web.address, path, { headers: { Accept: "text/html" } });
      assert.equal(a.status, 200, path);
      assert.match(String(a.headers["content-security-policy"]), /default-src 'self'/);
      assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(a.body), `${path} refers to no other host`);
    }
    for (const [path, type] of [["/_/app.js", /javascript/], ["/_/style.css", /text\/css/], ["/favicon.ico", /image\/svg/]] as const) {
      const a = await http(web.address, path);
      assert.equal(a.status, 200, path);
      assert.match(String(a.headers["content-type"]), type);
      const again = await http(web.address, path, { headers: { "If-None-Match": String(a.headers.etag) } });
      assert.equal(again.status, 304);
    }
    const home = json(await http(web.address, "/", { headers: { Accept: "application/json" } }));
    assert.deepEqual((home.webApps as { alias: string }[]).map((w) => w.alias).sort(), ["echo", "greeter", "slow"]);
  });

  test("a bad flag: one line, exit 1", async () => {
    const r = await micro([`--registry_address=${dir.path}`, "web", "--resolver=bogus", "--address=127.0.0.1:0"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /unknown resolver "bogus"/);
  });

  test("the greeter web app (a WebService) on SIGTERM: deregistered, exit 0", async () => {
    const app = procs[1]!;
    const registered = await nodesOf(dir.path, "go.micro.web.greeter");
    assert.deepEqual(registered.map((n) => n.id), [app.id]);
    app.child.kill("SIGTERM");
    assert.equal(await app.exited, 0, app.stderr());
    assert.deepEqual(await nodesOf(dir.path, "go.micro.web.greeter"), []);
    assert.match(app.stderr(), /Deregistering node: /);
    // micro web follows: the app is gone from its list and its proxy
    await waitFor("micro web to drop the app", async () => (await http(web.address, "/greeter/")).status === 404);
  });

  test("SIGTERM: micro web stops and exits 0", async () => {
    // an open live feed and an open WebSocket must not hold it up
    const ws = new WebSocket(`ws://${web.address}/echo/socket`);
    await new Promise<void>((resolve, reject) => ws.once("open", () => resolve()).once("error", reject));
    const [host, port] = web.address.split(":");
    const feed = request({ host, port: Number(port), path: "/_/events", agent: false });
    feed.on("error", () => {});
    feed.end();
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    web.child.kill("SIGTERM");
    assert.equal(await web.exited, 0, web.stderr());
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    ws.terminate();
    feed.destroy();
  });
});
