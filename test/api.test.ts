// micro api as users run it: real processes (the greeter srv and api, a
// routes fixture, `micro api`), real HTTP, the notes' curl commands verbatim.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile, execFileSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:http";
import { ROOT, micro, nodesOf, startGateway, startProcess, startService, stopAll, tempDir, waitFor, type GatewayProc, type Proc } from "./helpers.js";
import { freePort } from "../bench/ports.js";

let dir: { path: string; remove(): Promise<void> };
let nodes: Proc[] = [];

type Gateway = GatewayProc;

/** `micro api …` on a free port, ready when it says it listens. */
function startApi(...args: string[]): Promise<Gateway> {
  return startApiWith({}, ...args);
}

async function startApiWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Gateway> {
  return startGateway("api", [`--registry_address=${dir.path}`, "--client_request_timeout=2s"], [`--address=127.0.0.1:${await freePort()}`, ...args], env);
}

/** A GET with the path exactly as written (fetch would normalise it), as a Response. */
function raw(url: string): Promise<Response> {
  const u = new URL(url);
  const path = url.slice(url.indexOf("/", url.indexOf("//") + 2));
  return new Promise((resolve, reject) => {
    request({ host: u.hostname, port: u.port, path, method: "GET", timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: res.headers as Record<string, string> })));
    }).on("error", reject).end();
  });
}

async function stop(gw: Gateway): Promise<number | null> {
  gw.child.kill("SIGTERM");
  return gw.exited;
}

function curl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("curl", ["-s", "--max-time", "10", ...args], (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout))),
  );
}

before(async () => {
  dir = await tempDir();
  nodes = await Promise.all([
    startService("examples/greeter/srv/main.ts", dir.path),
    startService("examples/greeter/api/main.ts", dir.path),
    startService("test/fixtures/api-routes.ts", dir.path),
  ]);
});

after(async () => {
  await stopAll(nodes);
  await dir.remove();
});

test("the notes' commands verbatim: the api handler path, and both /rpc forms with --enable_rpc", async () => {
  const gw = await startApi("--enable_rpc");
  try {
    const port = new URL(gw.url).port;
    assert.equal(await curl(`http://localhost:${port}/greeter/say/hello?name=John`), '{"message":"Hello John"}');
    assert.equal(
      await curl("-d", "service=go.micro.srv.greeter", "-d", "method=Say.Hello", "-d", 'request={"name": "John"}', `http://localhost:${port}/rpc`),
      '{"msg":"Hello John"}\n',
    );
    assert.equal(
      await curl("-H", "Content-Type: application/json", "-d", '{"service": "go.micro.srv.greeter", "method": "Say.Hello", "request": {"name": "John"}}', `http://localhost:${port}/rpc`),
      '{"msg":"Hello John"}\n',
    );
    // The api's own error, with its code as the status.
    const blank = await fetch(`${gw.url}/greeter/say/hello`);
    assert.equal(blank.status, 400);
    assert.deepEqual(await blank.json(), { id: "go.micro.api.greeter", code: 400, detail: "Name cannot be blank", status: "Bad Request" });
    // GET / and the access log.
    assert.deepEqual(await (await fetch(`${gw.url}/`)).json(), { version: "0.1.0" });
    assert.match(gw.stdout(), /"GET \/greeter\/say\/hello\?name=John HTTP\/1\.1" 200 \d+ "-" "curl\//);
    assert.equal(await stop(gw), 0);
  } finally {
    gw.child.kill("SIGKILL");
  }
});

test("micro api and micro web register themselves as go.micro.api / go.micro.web (or --server_name), answer Debug.Health, and leave on SIGTERM", async () => {
  const reg = [`--registry_address=${dir.path}`];
  const api = await startApi();
  const web = await startGateway("web", reg, ["--address=127.0.0.1:0"]);
  const named = await startGateway("api", [...reg, "--server_name=edge.api"], ["--address=127.0.0.1:0"]);
  try {
    const list = await micro([...reg, "list", "services"]);
    assert.equal(list.code, 0, list.stderr);
    const names = list.stdout.trim().split("\n");
    for (const n of ["go.micro.api", "go.micro.web", "edge.api"]) assert.ok(names.includes(n), `${n} in ${list.stdout}`);
    assert.equal((await nodesOf(dir.path, "go.micro.api")).length, 1, "--server_name renames, it does not add a second go.micro.api node");
    const health = await micro([...reg, "health", "go.micro.api"]);
    assert.equal(health.code, 0, health.stderr);
    assert.match(health.stdout, /^go\.micro\.api-\S+\t\t\S+:\d+\t\tok$/m);
    const [node] = await nodesOf(dir.path, "go.micro.web");
    assert.equal(node?.metadata?.server, "mucp");
  } finally {
    for (const gw of [api, web, named]) assert.equal(await stop(gw), 0, gw.stderr());
  }
  for (const n of ["go.micro.api", "go.micro.web", "edge.api"]) {
    await waitFor(`${n} to leave the registry`, async () => (await nodesOf(dir.path, n)).length === 0, 5_000);
  }
});

test("/rpc is off unless --enable_rpc; with an allow-list it reaches only those services; missing fields are 400", async () => {
  const off = await startApi();
  try {
    const r = await fetch(`${off.url}/rpc`, { method: "POST", body: "service=go.micro.srv.greeter&method=Say.Hello&request={}", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    assert.equal(r.status, 404);
  } finally {
    await stop(off);
  }
  const gw = await startApi("--enable_rpc", "--rpc_allow=go.micro.api.");
  try {
    const post = (body: unknown) => fetch(`${gw.url}/rpc`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const denied = await post({ service: "go.micro.srv.greeter", endpoint: "Say.Hello", request: { name: "x" } });
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { id: string }).id, "go.micro.rpc");
    const allowed = await post({ service: "go.micro.api.routes", endpoint: "Routes.Echo", request: '{"a":1}' });
    assert.equal(allowed.status, 200);
    assert.deepEqual(((await allowed.json()) as { got: unknown }).got, { a: 1 });
    const noService = await post({ endpoint: "Say.Hello" });
    assert.equal(noService.status, 400);
    assert.deepEqual(await noService.json(), { id: "go.micro.rpc", code: 400, detail: "invalid service", status: "Bad Request" });
    const noEndpoint = await post({ service: "go.micro.api.routes" });
    assert.deepEqual(await noEndpoint.json(), { id: "go.micro.rpc", code: 400, detail: "invalid endpoint", status: "Bad Request" });
    const get = await fetch(`${gw.url}/rpc`);
    assert.equal(get.status, 405);
  } finally {
    await stop(gw);
  }
});

test("rpc handler: query, path fields and JSON body merged; headers as metadata; 204 for an empty answer; errors keep their code", async () => {
  const gw = await startApi("--handler=rpc", "--namespace=go.micro.api");
  try {
    const echo = await fetch(`${gw.url}/routes/routes/echo?a=1&b[c]=x&s=str`, { headers: { "X-Custom": "hello" } });
    assert.equal(echo.status, 200);
    assert.equal(echo.headers.get("content-type"), "application/json");
    assert.deepEqual(await echo.json(), { got: { a: 1, b: { c: "x" }, s: "str" }, custom: "hello" });

    const merged = await fetch(`${gw.url}/routes/routes/echo?a=1&keep=yes`, { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"a":2,"keep":null,"n":{"x":true}}' });
    assert.deepEqual(((await merged.json()) as { got: unknown }).got, { a: 2, n: { x: true } });

    // Protobuf-family bodies pass through as bytes; an empty answer is 204.
    const empty = await fetch(`${gw.url}/routes/routes/empty`, { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: Buffer.from([1, 2]) });
    assert.equal(empty.status, 204);

    const fail = await fetch(`${gw.url}/routes/routes/fail?code=409`);
    assert.equal(fail.status, 409);
    assert.deepEqual(await fail.json(), { id: "go.micro.api.routes", code: 409, detail: "not for you", status: "Conflict" });

    // A custom route from endpoint metadata: /custom/{name} → Routes.Echo with the field.
    const custom = await fetch(`${gw.url}/custom/John?x=1`);
    assert.deepEqual(((await custom.json()) as { got: unknown }).got, { x: 1, name: "John" });
  } finally {
    await stop(gw);
  }
});

test("api handler: go.api.Request in, go.api.Response out (status, headers, body); a custom regex route", async () => {
  const gw = await startApi();
  try {
    const rsp = await fetch(`${gw.url}/raw/thing?q=1&q=2`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Trace": "t1" }, body: "f=v&f=w" });
    assert.equal(rsp.status, 201);
    assert.equal(rsp.headers.get("x-test"), "yes");
    assert.equal(rsp.headers.get("content-type"), "application/json");
    const req = (await rsp.json()) as Record<string, unknown> & { header: Record<string, { values: string[] }> };
    assert.equal(req.method, "POST");
    assert.equal(req.path, "/raw/thing");
    assert.equal(req.url, "/raw/thing?q=1&q=2");
    assert.deepEqual(req.get, { q: { key: "q", values: ["1", "2"] } });
    assert.deepEqual(req.post, { f: { key: "f", values: ["v", "w"] } });
    assert.equal(req.body, "");
    assert.deepEqual(req.header["X-Trace"]!.values, ["t1"]);
    assert.ok(req.header["X-Forwarded-For"]!.values[0]!.includes("127.0.0.1"));
  } finally {
    await stop(gw);
  }
});

test("CORS on by default (preflight answered), off with --enable_cors=false", async () => {
  const gw = await startApi();
  try {
    const pre = await fetch(`${gw.url}/greeter/say/hello`, { method: "OPTIONS", headers: { Origin: "http://app.example" } });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get("access-control-allow-origin"), "http://app.example");
    assert.equal(pre.headers.get("access-control-allow-credentials"), "true");
    assert.equal(pre.headers.get("access-control-allow-methods"), "POST, PATCH, GET, OPTIONS, PUT, DELETE");
    assert.equal(pre.headers.get("access-control-allow-headers"), "Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization");
  } finally {
    await stop(gw);
  }
  const off = await startApi("--enable_cors=false");
  try {
    const r = await fetch(`${off.url}/greeter/say/hello?name=x`, { headers: { Origin: "http://app.example" } });
    assert.equal(r.headers.get("access-control-allow-origin"), null);
  } finally {
    await stop(off);
  }
});

test("bad input: each gets its status and an error JSON in time; thousands of them neither crash nor grow the gateway", async () => {
  const gw = await startApi("--handler=rpc", "--max_request_size=1024");
  try {
    const expect = async (what: string, rsp: Promise<Response>, status: number, detail: RegExp) => {
      const r = await rsp;
      assert.equal(r.status, status, what);
      assert.equal(r.headers.get("content-type"), "application/json", what);
      const body = (await r.json()) as { id: string; code: number; detail: string; status: string };
      assert.equal(body.code, status, what);
      assert.match(body.detail, detail, what);
      assert.ok(body.id && body.status, what);
    };
    const url = `${gw.url}/routes/routes/echo`;
    await expect("malformed JSON", fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{nope" }), 400, /invalid JSON body/);
    await expect("huge body", fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: "x".repeat(5000) }), 413, /over the limit/);
    // fetch() resolves dot segments itself, so these go out raw.
    await expect("path traversal", raw(`${gw.url}/routes/../../etc/passwd`), 400, /traversal/);
    await expect("encoded path traversal", raw(`${gw.url}/routes/%2e%2e/%2e%2e/etc/passwd`), 400, /traversal/);
    await expect("bad encoding", fetch(`${gw.url}/routes/%zz`), 400, /malformed/);
    await expect("unknown service", fetch(`${gw.url}/nothing/here/at-all`), 404, /service not found: go\.micro\.api\.nothing/);
    await expect("unknown method", fetch(`${gw.url}/routes/routes/missing`), 404, /can't find method/);
    const started = Date.now();
    await expect("a backend that hangs", fetch(`${gw.url}/routes/routes/sleep?ms=20000`), 408, /deadline exceeded|timeout/);
    assert.ok(Date.now() - started < 5_000, "answered within the 2 s timeout (+ a retry)");

    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${gw.child.pid}/status`, "utf8"))![1]) / 1024;
    const burst = async () => {
      const kinds = [
        () => fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{nope" }),
        () => fetch(url, { method: "POST", body: "y".repeat(2048) }),
        () => raw(`${gw.url}/a/%2e%2e/b`),
        () => fetch(`${gw.url}/no/such/service`),
      ];
      for (let i = 0; i < 1000; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => kinds[(i + j) % kinds.length]!().then((r) => r.arrayBuffer())));
      }
    };
    await burst(); // warm: caches and pools reach their size
    const before = rss();
    await burst();
    await burst();
    const grown = rss() - before;
    assert.ok(grown < 30, `RSS grew ${grown.toFixed(1)} MB over 2000 bad requests`);
    const ok = await fetch(`${url}?still=1`);
    assert.equal(ok.status, 200, "still serving");
    assert.equal(gw.child.exitCode, null);
    assert.doesNotMatch(gw.stderr(), /\n\s+at /, "no stack traces");
  } finally {
    await stop(gw);
  }
});

test("a bad flag or a taken port: one line and exit code 1", async () => {
  const gw = await startApi();
  try {
    const port = new URL(gw.url).port;
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, [join(ROOT, "bin/micro.js"), `--registry_address=${dir.path}`, "api", ...args], { timeout: 10_000 }, (err, _out, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }));
      });
    const taken = await run([`--address=127.0.0.1:${port}`]);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /^micro api: cannot listen on 127\.0\.0\.1:\d+: address already in use\n$/);
    const badHandler = await run(["--handler=nope", "--address=127.0.0.1:0"]);
    assert.equal(badHandler.code, 1);
    assert.match(badHandler.stderr, /^unknown handler "nope" \(known: meta, api, rpc, http, proxy, web, event\)\n$/);
  } finally {
    await stop(gw);
  }
});

test("the notes' web gateway: micro --api_namespace=mu.micro.book.web api --handler=web proxies paths and WebSockets", async () => {
  const backend = await startProcess([process.execPath, "--import", "tsx", "test/fixtures/web-backend.ts", `--registry_address=${dir.path}`], { NAME: "mu.micro.book.web.user" });
  const gw = await startGateway("api", [`--registry_address=${dir.path}`, "--api_namespace=mu.micro.book.web"], ["--handler=web", "--address=127.0.0.1:0"]);
  const port = Number(new URL(gw.url).port);
  const err = gw.stderr();
  try {
    const rsp = await fetch(`http://127.0.0.1:${port}/user/login?next=%2F`, { method: "POST", body: "x" });
    assert.equal(rsp.status, 200, err);
    const seen = (await rsp.json()) as { method: string; url: string; forwardedFor: string };
    assert.equal(seen.method, "POST");
    assert.equal(seen.url, "/user/login?next=%2F", "the path goes through unchanged");
    assert.match(seen.forwardedFor, /127\.0\.0\.1/);

    const missing = await fetch(`http://127.0.0.1:${port}/nobody/here`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { detail: string }).detail, "service not found: mu.micro.book.web.nobody");

    // A WebSocket-style upgrade is piped both ways.
    const echoed = await new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/user/socket", headers: { Connection: "Upgrade", Upgrade: "echo" }, timeout: 5_000 });
      req.on("upgrade", (_res, socket) => {
        socket.once("data", (d: Buffer) => {
          resolve(d.toString());
          socket.destroy();
        });
        socket.write("ping over the gateway");
      });
      req.on("response", (r) => reject(new Error(`no upgrade: ${r.statusCode}`)));
      req.on("error", reject);
      req.end();
    });
    assert.equal(echoed, "ping over the gateway");
    assert.equal(await stop(gw), 0);
  } finally {
    gw.child.kill("SIGKILL");
    await stopAll([backend]);
  }
});

test("TLS as the notes run it: MICRO_ENABLE_TLS with MICRO_TLS_CERT_FILE and MICRO_TLS_KEY_FILE", async () => {
  const certs = await tempDir("micro-ts-tls-");
  try {
    const cert = join(certs.path, "cert.pem");
    const key = join(certs.path, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert], { stdio: "ignore" });
    const gw = await startApiWith({ MICRO_ENABLE_TLS: "true", MICRO_TLS_CERT_FILE: cert, MICRO_TLS_KEY_FILE: key });
    try {
      const port = new URL(gw.url).port;
      assert.match(gw.stderr(), /HTTP API Listening on 127\.0\.0\.1:\d+ \(TLS\)/);
      assert.equal(await curl("--cacert", cert, `https://127.0.0.1:${port}/greeter/say/hello?name=John`), '{"message":"Hello John"}');
      assert.equal(await stop(gw), 0);
    } finally {
      gw.child.kill("SIGKILL");
    }
    // A missing key file: one line, exit 1.
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(ROOT, "bin/micro.js"), `--registry_address=${dir.path}`, "--enable_tls", `--tls_cert_file=${cert}`, `--tls_key_file=${key}.missing`, "api", "--address=127.0.0.1:0"],
        { timeout: 10_000 }, (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }));
    });
    assert.equal(run.code, 1);
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /key\.pem\.missing/);
  } finally {
    await certs.remove();
  }
});
