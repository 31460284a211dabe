// The Service API in one process, over real loopback sockets: typed calls,
// errors, metadata, wrappers, timeouts, limits, bad input.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Service, MemoryRegistry, MicroError, errors, metadata, type CallWrapper, type HandlerWrapper, type Registry } from "../src/index.js";
import { silentLogger } from "../src/util/log.js";

const registry = new MemoryRegistry();
const trail: string[] = [];
let seen: metadata.Metadata = {};
let flaky = 0;

const wrapHandler: HandlerWrapper[] = [
  (next) => async (req) => { trail.push(`h1>${req.endpoint}`); const r = await next(req); trail.push("h1<"); return r; },
  (next) => async (req) => { trail.push("h2>"); return next(req); },
];

const server = new Service({
  name: "test.svc", registry, args: [], env: {}, handleSignals: false, logger: silentLogger,
  address: "127.0.0.1:0", maxBodySize: 64 * 1024, wrapHandler,
});
server.handle("Math", {
  async add(req: { a: number; b: number }) {
    return { sum: req.a + req.b };
  },
  async fail(req: { code: number }) {
    if (req.code === 0) throw new Error("plain failure");
    throw new MicroError("test.svc", req.code, "custom failure");
  },
  async md(_req: unknown, ctx: { metadata: metadata.Metadata }) {
    seen = ctx.metadata;
    // a call made inside a handler carries the caller's metadata on
    return caller.client.call("test.svc", "Math.Echo", {});
  },
  async echo() {
    return { md: metadata.fromContext() };
  },
  async slow(req: { ms: number }) {
    await new Promise((r) => setTimeout(r, req.ms));
    return {};
  },
  async flaky() {
    if (flaky++ === 0) throw errors.internalServerError("test.svc", "first try fails");
    return { tries: flaky };
  },
  async bytes(req: Buffer) {
    return Buffer.concat([req, Buffer.from("!")]);
  },
  nothing() {
    return undefined;
  },
});

const callWrapper: CallWrapper = (next) => async (node, req, ms) => {
  trail.push(`c>${req.endpoint}@${node.id === server.server.id ? "node" : node.id}`);
  req.metadata["X-Wrapped"] = "yes";
  return next(node, req, ms);
};
const caller = new Service({ name: "test.caller", registry, args: [], env: {}, handleSignals: false, logger: silentLogger, wrapCall: [callWrapper] });

before(async () => {
  await server.start();
});
after(async () => {
  await caller.stop();
  await server.stop();
});

test("typed calls reach the handler and come back", async () => {
  const rsp = await caller.client.call<{ sum: number }, { a: number; b: number }>("test.svc", "Math.Add", { a: 2, b: 40 });
  assert.equal(rsp.sum, 42);
});

test("wrappers run in order: call wrapper per attempt, handler wrappers outermost first", async () => {
  trail.length = 0;
  await caller.client.call("test.svc", "Math.Add", { a: 1, b: 1 });
  assert.deepEqual(trail, ["c>Math.Add@node", "h1>Math.Add", "h2>", "h1<"]);
});

test("handler errors reach the caller as MicroError", async () => {
  await assert.rejects(caller.client.call("test.svc", "Math.Fail", { code: 409 }), (e: unknown) =>
    e instanceof MicroError && e.id === "test.svc" && e.code === 409 && e.detail === "custom failure" && e.status === "Conflict");
  await assert.rejects(caller.client.call("test.svc", "Math.Fail", { code: 0 }, { retries: 0 }), (e: unknown) =>
    e instanceof MicroError && e.code === 500 && e.detail === "plain failure" && e.id === "go.micro.server");
});

test("metadata flows from the caller to the handler, with Micro-From-Service", async () => {
  const rsp = await caller.client.call<{ md: metadata.Metadata }>("test.svc", "Math.Md", {}, { metadata: { "x-user": "ann" } });
  assert.equal(seen["X-User"], "ann");
  assert.equal(seen["Micro-From-Service"], "test.caller");
  assert.equal(seen["X-Wrapped"], "yes");
  assert.equal(seen["Micro-Endpoint"], "Math.Md");
  assert.match(seen.Remote!, /^127\.0\.0\.1:\d+$/);
  // the nested call: the user's metadata went on, the hop headers did not
  assert.equal(rsp.md["X-User"], "ann");
  assert.equal(rsp.md["Micro-Endpoint"], "Math.Echo");
  assert.equal(rsp.md["Micro-From-Service"], "test.caller");
});

test("the server enforces the caller's timeout and the client reports 408", async () => {
  const t0 = Date.now();
  await assert.rejects(caller.client.call("test.svc", "Math.Slow", { ms: 2000 }, { timeout: 200, retries: 0 }), (e: unknown) =>
    e instanceof MicroError && e.code === 408);
  assert.ok(Date.now() - t0 < 1000, "gave up near the deadline");
});

test("500s are retried on a new attempt", async () => {
  flaky = 0;
  const rsp = await caller.client.call<{ tries: number }>("test.svc", "Math.Flaky", {}, { retries: 1 });
  assert.equal(rsp.tries, 2);
  flaky = 0;
  await assert.rejects(caller.client.call("test.svc", "Math.Flaky", {}, { retries: 0 }), /first try fails/);
});

test("octet-stream bodies pass through as bytes; undefined answers {}", async () => {
  const rsp = await caller.client.call<Buffer>("test.svc", "Math.Bytes", Buffer.from([1, 2]));
  assert.deepEqual([...rsp], [1, 2, 33]);
  assert.deepEqual(await caller.client.call("test.svc", "Math.Nothing", {}), {});
});

test("bad input: unknown endpoints, oversized bodies, unknown services", async () => {
  await assert.rejects(caller.client.call("test.svc", "Math.Nope", {}), (e: unknown) =>
    e instanceof MicroError && e.code === 404 && e.detail === "rpc: can't find method Nope");
  await assert.rejects(caller.client.call("test.svc", "Nope", {}), (e: unknown) =>
    e instanceof MicroError && e.code === 400 && /ill-formed: Nope/.test(e.detail));
  await assert.rejects(caller.client.call("test.svc", "Math.Add", { pad: "x".repeat(100 * 1024) }), (e: unknown) =>
    e instanceof MicroError && e.code === 413);
  // and the server still serves
  assert.deepEqual(await caller.client.call("test.svc", "Math.Add", { a: 1, b: 2 }), { sum: 3 });
  await assert.rejects(caller.client.call("test.nobody", "Math.Add", {}), (e: unknown) =>
    e instanceof MicroError && e.code === 500 && e.detail === "service test.nobody: not found");
});

test("the registry entry carries endpoints but not Debug, and node metadata as upstream", async () => {
  const [svc] = await registry.getService("test.svc");
  assert.ok(svc);
  assert.equal(svc.nodes!.length, 1);
  assert.deepEqual(svc.nodes![0]!.metadata, { broker: "http", protocol: "mucp", registry: "memory", server: "mucp", transport: "http" });
  const names = svc.endpoints!.map((e) => e.name);
  assert.ok(names.includes("Math.Add") && !names.some((n) => n.startsWith("Debug.")));
  // A Go node writes "metadata":{} for every endpoint (its extractor always makes the map); so do we.
  assert.deepEqual(svc.endpoints!.find((e) => e.name === "Math.Add")!.metadata, {});
  assert.deepEqual(await caller.client.call("test.svc", "Debug.Health", {}), { status: "ok" });
});

test("a registry folder that cannot be written stops start() with a clear error", async () => {
  const { writeFile, mkdtemp, rm } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const d = await mkdtemp(join(tmpdir(), "micro-ts-bad-"));
  await writeFile(join(d, "file"), "x");
  const s = new Service({ name: "test.bad", args: [`--registry_address=${join(d, "file", "sub")}`], env: {}, handleSignals: false, logger: silentLogger, address: "127.0.0.1:0" });
  try {
    await assert.rejects(s.start(), (e: unknown) => e instanceof Error && e.message.includes(join(d, "file")));
  } finally {
    await s.stop();
    await rm(d, { recursive: true, force: true });
  }
});

test("bad flags are a clear error", () => {
  assert.throws(() => new Service({ name: "x", args: ["--client_retries=many"], env: {} }), /--client_retries/);
  assert.throws(() => new Service({ name: "x", args: ["--what"], env: {} }), /what/);
});

test("renewals against a slow registry never overlap, and stop() waits for the one in flight before deregistering", async () => {
  const inner = new MemoryRegistry();
  let inFlight = 0;
  let most = 0;
  let renewals = 0;
  // A registry that takes 250 ms per registration, renewed every 50 ms.
  const slow: Registry = {
    name: "memory",
    async register(service, options) {
      inFlight++;
      most = Math.max(most, inFlight);
      renewals++;
      await new Promise((r) => setTimeout(r, 250));
      await inner.register(service, options);
      inFlight--;
    },
    deregister: (service) => inner.deregister(service),
    getService: (name) => inner.getService(name),
    listServices: () => inner.listServices(),
    watch: (options) => inner.watch(options),
    close: () => inner.close(),
  };
  const s = new Service({ name: "test.slow", registry: slow, args: [], env: {}, handleSignals: false, logger: silentLogger, address: "127.0.0.1:0", registerInterval: 50, registerTTL: 5_000 });
  try {
    await s.start();
    await new Promise((r) => setTimeout(r, 730)); // most likely inside a renewal at the end
  } finally {
    await s.stop();
  }
  assert.equal(most, 1, "one registration at a time");
  assert.ok(renewals >= 2, `renewed (${renewals})`);
  await new Promise((r) => setTimeout(r, 300)); // a renewal that outlived stop() would land by now
  assert.deepEqual(await inner.getService("test.slow"), [], "deregistered, and not registered again");
});
