// Three greeter nodes as real processes, and the micro CLI against them, as
// the README walks a user through it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { micro, startService, stopAll, tempDir, type Proc } from "./helpers.js";

const GREETER = "examples/greeter/srv/main.ts";
let dir: { path: string; remove(): Promise<void> };
let nodes: Proc[] = [];
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await tempDir();
  env = { MICRO_REGISTRY_ADDRESS: dir.path };
  nodes = await Promise.all([0, 1, 2].map(() => startService(GREETER, dir.path)));
});

after(async () => {
  await stopAll(nodes);
  await dir.remove();
});

test("micro list services prints the names, sorted, one a line", async () => {
  const other = await startService("test/fixtures/node.ts", dir.path, [], { TEST_SERVICE_NAME: "a.first.service" });
  try {
    const r = await micro(["list", "services"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "a.first.service\ngo.micro.srv.greeter\n");
    // the global flag form of the notes works the same
    const flag = await micro([`--registry=local`, "--registry_address", dir.path, "list", "services"]);
    assert.equal(flag.stdout, r.stdout);
  } finally {
    await stopAll([other]);
  }
});

test("micro get service shows the upstream layout with every node", async () => {
  const r = await micro(["get", "service", "go.micro.srv.greeter"], env);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.deepEqual(lines.slice(0, 5), ["service  go.micro.srv.greeter", "", "version latest", "", "ID\tAddress\tMetadata"]);
  const rows = lines.slice(5, 8).map((l) => l.split("\t"));
  assert.deepEqual(rows.map((r) => r[0]).sort(), nodes.map((n) => n.id).sort());
  for (const [id, address, md] of rows) {
    assert.match(id!, /^go\.micro\.srv\.greeter-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(address!, /^127\.0\.0\.1:\d+$/);
    assert.equal(md, "broker=http,protocol=mucp,registry=local,server=mucp,transport=http");
  }
  assert.equal(lines.slice(8).join("\n"), [
    "", "Endpoint: Say.Hello", "", "Request: {", "\tname string", "}", "", "Response: {", "\tmsg string", "}", "", "",
  ].join("\n"));
  assert.ok(!r.stdout.includes("Debug."), "internal endpoints are not advertised");
});

test("micro call prints the response indented with tabs", async () => {
  const r = await micro(["call", "go.micro.srv.greeter", "Say.Hello", '{"name":"John"}'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '{\n\t"msg": "Hello John"\n}\n');
  const raw = await micro(["call", "--output", "raw", "go.micro.srv.greeter", "Say.Hello", '{"name":"Raw"}'], env);
  assert.equal(raw.stdout, '{"msg":"Hello Raw"}\n\n');
});

test("micro call reports handler errors as upstream and exits 1", async () => {
  const r = await micro(["call", "go.micro.srv.greeter", "Say.Hello", '{"name":""}'], env);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr,
    'error calling go.micro.srv.greeter.Say.Hello: {"id":"go.micro.srv.greeter","code":400,"detail":"name is required","status":"Bad Request"}\n');
});

test("bad input gets one line and exit code 1", async () => {
  const cases: [string[], RegExp][] = [
    [["call", "go.micro.srv.nope", "Say.Hello", "{}"], /^error calling go\.micro\.srv\.nope\.Say\.Hello: .*service go\.micro\.srv\.nope: not found/],
    [["call", "go.micro.srv.greeter", "Say.Nope", "{}"], /can't find method Nope/],
    [["call", "go.micro.srv.greeter", "Nope.Hello", "{}"], /can't find service Nope/],
    [["call", "go.micro.srv.greeter", "Say.Hello", "{bad"], /^invalid request JSON/],
    [["get", "service", "go.micro.srv.nope"], /^Service not found$/],
    [["--register_ttl=abc", "list", "services"], /--register_ttl/],
    [["--registry=zookeeper", "list", "services"], /unknown registry "zookeeper"/],
    [["list", "services", "--registry_address=/dev/null/x"], /.+/],
    [["call", "--address=127.0.0.1:1", "go.micro.srv.greeter", "Say.Hello", "{}"], /connection error/],
    [["frobnicate"], /unknown command/],
  ];
  for (const [args, pattern] of cases) {
    const r = await micro(args, env);
    assert.equal(r.code, 1, `micro ${args.join(" ")} exit code; stderr: ${r.stderr}`);
    const firstLine = r.stderr.split("\n")[0]!;
    assert.match(firstLine, pattern, `micro ${args.join(" ")}`);
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace for micro ${args.join(" ")}: ${r.stderr}`);
  }
});

test("micro health asks every node through Debug.Health", async () => {
  const r = await micro(["health", "go.micro.srv.greeter"], env);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.deepEqual(lines.slice(0, 5), ["service  go.micro.srv.greeter", "", "version latest", "", "node\t\taddress:port\t\tstatus"]);
  const rows = lines.slice(5).map((l) => l.split("\t\t"));
  assert.equal(rows.length, 3);
  for (const row of rows) assert.equal(row[2], "ok");
  assert.deepEqual(rows.map((row) => row[0]).sort(), nodes.map((n) => n.id).sort());
});

test("micro stats shows per-node figures from Debug.Stats", async () => {
  const r = await micro(["stats", "go.micro.srv.greeter"], env);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trimEnd().split("\n").slice(5);
  assert.equal(rows.length, 3);
  for (const row of rows) assert.match(row, /^go\.micro\.srv\.greeter-\S+\t\t127\.0\.0\.1:\d+\t\t\w{3} \d+ \d\d:\d\d:\d\d\t\d+s\t\d+\.\d\dmb\t\d+\t\S+$/);
});

test("micro register/deregister service write and remove a definition", async () => {
  const def = JSON.stringify({ name: "ext.service", version: "1.0", nodes: [{ id: "ext-1", address: "10.0.0.9:9000", metadata: { a: "b" } }] });
  const reg = await micro(["register", "service", def], env);
  assert.equal(reg.code, 0, reg.stderr);
  assert.equal(reg.stdout, "ok\n");
  const got = await micro(["get", "service", "ext.service"], env);
  assert.match(got.stdout, /ext-1\t10\.0\.0\.9:9000\ta=b/);
  const dereg = await micro(["deregister", "service", def], env);
  assert.equal(dereg.stdout, "ok\n");
  assert.equal((await micro(["get", "service", "ext.service"], env)).code, 1);
  const bad = await micro(["register", "service", '{"nodes":1}'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^invalid service definition/);
});

test("micro call --metadata and MICRO_METADATA reach the handler", async () => {
  const other = await startService("test/fixtures/node.ts", dir.path, [], { TEST_SERVICE_NAME: "test.md" });
  try {
    const r = await micro(["call", "--metadata", "X-User=ann,X-Team=core", "--metadata", "x-trace=t1", "test.md", "Node.Metadata", "{}"], env);
    assert.equal(r.code, 0, r.stderr);
    const md = JSON.parse(r.stdout) as Record<string, string>;
    assert.equal(md["X-User"], "ann");
    assert.equal(md["X-Team"], "core");
    assert.equal(md["X-Trace"], "t1");
    const viaEnv = await micro(["call", "test.md", "Node.Metadata", "{}"], { ...env, MICRO_METADATA: "X-From-Env=yes" });
    assert.equal((JSON.parse(viaEnv.stdout) as Record<string, string>)["X-From-Env"], "yes");
  } finally {
    await stopAll([other]);
  }
});
