// The etcd registry against a real etcd: upstream's key layout byte for byte,
// leases, watch, outages, and the CLI as the original notes use it.
import { test, after, before, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import { EtcdRegistry, etcdKey, type RegistryService as Service, type Result } from "../src/index.js";
import { startEtcd, type Etcd } from "./etcd.js";
import { micro, waitFor } from "./helpers.js";

let etcd: Etcd;
let raw: Etcd3;
const open: EtcdRegistry[] = [];
const registry = (opts = {}) => {
  const r = new EtcdRegistry({ address: etcd.address, ...opts });
  open.push(r);
  return r;
};

before(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: `http://${etcd.address}` });
});
// Each test starts from an empty registry prefix.
beforeEach(() => raw.delete().prefix("/micro/registry/").exec().then(() => undefined));
after(async () => {
  for (const r of open) await r.close().catch(() => {});
  raw.close();
  await etcd.remove();
});

const greeter = (id: string, version = "latest", extra: Partial<Service> = {}): Service => ({
  name: "go.micro.srv.greeter",
  version,
  metadata: null,
  endpoints: [{
    name: "Say.Hello",
    request: { name: "Request", type: "Request", values: [{ name: "name", type: "string", values: null }] },
    response: { name: "Response", type: "Response", values: [{ name: "msg", type: "string", values: null }] },
    metadata: {},
  }],
  nodes: [{ id, address: "10.0.0.5:41231", metadata: { broker: "http", protocol: "mucp", registry: "etcd", server: "mucp", transport: "http" } }],
  ...extra,
});

test("register writes upstream's key and value byte for byte; a Go-written node reads back", async () => {
  const r = registry();
  await r.register(greeter("go.micro.srv.greeter-6f0e"), { ttl: 30_000 });
  const key = "/micro/registry/go.micro.srv.greeter/go.micro.srv.greeter-6f0e";
  assert.equal(etcdKey("go.micro.srv.greeter", "go.micro.srv.greeter-6f0e"), key);
  // What Go's json.Marshal writes for this Service (field order, nulls, no newline, <>& escaped).
  const goValue =
    '{"name":"go.micro.srv.greeter","version":"latest","metadata":null,"endpoints":[{"name":"Say.Hello",' +
    '"request":{"name":"Request","type":"Request","values":[{"name":"name","type":"string","values":null}]},' +
    '"response":{"name":"Response","type":"Response","values":[{"name":"msg","type":"string","values":null}]},"metadata":{}}],' +
    '"nodes":[{"id":"go.micro.srv.greeter-6f0e","address":"10.0.0.5:41231","metadata":{"broker":"http","protocol":"mucp","registry":"etcd","server":"mucp","transport":"http"}}]}';
  assert.equal(await raw.get(key).string(), goValue);
  const lease = await raw.get(key).exec();
  assert.notEqual(lease.kvs[0]!.lease, "0", "under a lease");

  // A node as a Go service writes it (slashes in the id become dashes), plus a value that is not ours.
  await raw.put("/micro/registry/go.micro.srv.greeter/go-node").value(goValue.replace(/go\.micro\.srv\.greeter-6f0e/g, "go/node").replace('"10.0.0.5:41231"', '"10.0.0.6:1"'));
  await raw.put("/micro/registry/go.micro.srv.greeter/junk").value("not json");
  const [svc] = await r.getService("go.micro.srv.greeter");
  assert.deepEqual(svc!.nodes!.map((n) => n.address).sort(), ["10.0.0.5:41231", "10.0.0.6:1"]);
});

test("getService merges by version; listServices is one entry per name and version, sorted; Go escaping", async () => {
  const r = registry();
  await r.register(greeter("a-1", "1"));
  await r.register(greeter("a-2", "1"));
  await r.register(greeter("a-3", "2"));
  await r.register({ ...greeter("b-1", "1"), name: "alpha", metadata: { note: "<b>&" } });
  const got = await r.getService("go.micro.srv.greeter");
  assert.deepEqual(got.map((s) => [s.version, s.nodes!.map((n) => n.id).sort()]).sort(), [["1", ["a-1", "a-2"]], ["2", ["a-3"]]]);
  const list = await r.listServices();
  assert.deepEqual(list.map((s) => `${s.name}@${s.version}`), ["alpha@1", "go.micro.srv.greeter@1", "go.micro.srv.greeter@2"]);
  assert.match((await raw.get(etcdKey("alpha", "b-1")).string())!, /"metadata":\{"note":"\\u003cb\\u003e\\u0026"\}/);
  assert.deepEqual(await r.getService("nobody"), []);
  await r.deregister(greeter("a-1", "1"));
  assert.equal(await raw.get(etcdKey("go.micro.srv.greeter", "a-1")).string(), null, "deregister deletes the key");
});

test("a lease of the TTL: renewed by each registration, gone without one, granted anew when lost", async () => {
  const r = registry();
  const key = etcdKey("go.micro.srv.greeter", "ttl-1");
  await r.register(greeter("ttl-1"), { ttl: 2_000 });
  const leaseOf = async () => (await raw.get(key).exec()).kvs[0]?.lease;
  const first = await leaseOf();
  for (let i = 0; i < 4; i++) {
    await new Promise((res) => setTimeout(res, 800));
    await r.register(greeter("ttl-1"), { ttl: 2_000 }); // the interval tick
  }
  assert.equal(await leaseOf(), first, "kept alive: same lease, 3.2 s > TTL");
  // The lease is lost (etcd restored from backup, or down past the TTL): the next registration grants a new one.
  await raw.leaseClient.leaseRevoke({ ID: first! });
  assert.equal(await raw.get(key).string(), null);
  await r.register(greeter("ttl-1"), { ttl: 2_000 });
  const second = await leaseOf();
  assert.ok(second && second !== first);
  // No more registrations: gone within the TTL (plus etcd's lease check granularity).
  await waitFor("the key to expire", async () => (await raw.get(key).string()) === null, 6_000);
});

test("watch: create, update and delete, each with its one-node service", async () => {
  const r = registry();
  const w = r.watch({ service: "go.micro.srv.greeter" });
  await new Promise((res) => setTimeout(res, 300)); // the watch stream is up
  await r.register(greeter("w-1"));
  await r.register(greeter("w-1", "latest", { metadata: { changed: "yes" } }));
  await r.register({ ...greeter("x-1"), name: "other" }); // filtered out by the service option
  await r.deregister(greeter("w-1"));
  const events: Result[] = [];
  for (let i = 0; i < 3; i++) events.push(await w.next());
  assert.deepEqual(events.map((e) => [e.action, e.service.name, e.service.nodes![0]!.id]), [
    ["create", "go.micro.srv.greeter", "w-1"],
    ["update", "go.micro.srv.greeter", "w-1"],
    ["delete", "go.micro.srv.greeter", "w-1"],
  ]);
  assert.deepEqual(events[1]!.service.metadata, { changed: "yes" });
  w.stop();
});

test("watch: a node re-registered under another version leaves the old one (delete, then update)", async () => {
  const r = registry();
  const w = r.watch({ service: "go.micro.srv.greeter" });
  await new Promise((res) => setTimeout(res, 300)); // the watch stream is up
  await r.register(greeter("v-1", "1.0.0"));
  await r.register(greeter("v-1", "2.0.0"));
  await r.register(greeter("v-1", "2.0.0", { metadata: { changed: "yes" } }));
  const events: Result[] = [];
  for (let i = 0; i < 4; i++) events.push(await w.next());
  // Without the delete, a cache (which merges by version) would list v-1 under 1.0.0 for good.
  assert.deepEqual(events.map((e) => [e.action, e.service.version, e.service.nodes![0]!.id]), [
    ["create", "1.0.0", "v-1"],
    ["delete", "1.0.0", "v-1"],
    ["update", "2.0.0", "v-1"],
    ["update", "2.0.0", "v-1"],
  ]);
  w.stop();
});

test("etcd down: calls fail within the timeout with one clear line; back up: registration resumes by itself", async () => {
  const r = registry({ timeout: 1_000 });
  await r.register(greeter("o-1"), { ttl: 2_000 });
  await etcd.stop();
  try {
    const t0 = Date.now();
    const oneLine = /^Error: etcd (register|get) go\.micro\.srv\.greeter: (no answer from http:\/\/127\.0\.0\.1:\d+ within 1000 ms|cannot connect: ECONNREFUSED 127\.0\.0\.1:\d+ \(http:\/\/127\.0\.0\.1:\d+\))$/;
    await assert.rejects(r.register(greeter("o-1"), { ttl: 2_000 }), oneLine);
    await assert.rejects(r.getService("go.micro.srv.greeter"), oneLine);
    assert.ok(Date.now() - t0 < 5_000, `bounded: ${Date.now() - t0} ms`);
    await new Promise((res) => setTimeout(res, 2_500)); // past the TTL while down
  } finally {
    await etcd.restart();
  }
  // The service's next tick re-registers (the old lease expired meanwhile: a new one is granted).
  await waitFor("re-registration", async () => {
    try {
      await r.register(greeter("o-1"), { ttl: 2_000 });
      return (await raw.get(etcdKey("go.micro.srv.greeter", "o-1")).string()) !== null;
    } catch {
      return false;
    }
  }, 15_000);
});

test("micro --registry=etcd list/get/register/deregister as the notes run them; a dead etcd is one line", async () => {
  const svc = JSON.stringify(greeter("cli-1"));
  let run = await micro(["--registry=etcd", "--registry_address", etcd.address, "register", "service", svc]);
  assert.equal(run.code, 0, run.stderr);
  run = await micro(["--registry=etcd", "--registry_address", etcd.address, "list", "services"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "go.micro.srv.greeter\n");
  run = await micro(["--registry", "etcd", "--registry_address", `http://${etcd.address}`, "get", "service", "go.micro.srv.greeter"]);
  assert.match(run.stdout, /cli-1\t10\.0\.0\.5:41231\t/);
  run = await micro(["--registry=etcd", "--registry_address", etcd.address, "deregister", "service", svc]);
  assert.equal(run.code, 0, run.stderr);
  run = await micro(["--registry=etcd", "--registry_address", etcd.address, "list", "services"]);
  assert.equal(run.stdout, "");

  const t0 = Date.now();
  run = await micro(["--registry=etcd", "--registry_address", "127.0.0.1:1", "list", "services"]);
  assert.equal(run.code, 1);
  assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  assert.match(run.stderr, /etcd list: (no answer from|cannot connect: ECONNREFUSED) .*127\.0\.0\.1:1/);
  assert.ok(Date.now() - t0 < 15_000, "bounded, not a hang");
});

test("greeter services on etcd: found and called by the CLI; SIGTERM removes the node at once", async () => {
  const { startService, stopAll } = await import("./helpers.js");
  const flags = ["--registry=etcd", `--registry_address=${etcd.address}`];
  // startService's own --registry_address (a folder) comes first; ours, later on the line, wins.
  const nodes = await Promise.all([0, 1].map(() => startService("examples/greeter/srv/main.ts", "unused", flags)));
  try {
    const keys = async () => Object.keys(await raw.getAll().prefix("/micro/registry/go.micro.srv.greeter/").strings()).sort();
    assert.deepEqual(await keys(), nodes.map((n) => etcdKey("go.micro.srv.greeter", n.id)).sort());
    const run = await micro([...flags, "call", "go.micro.srv.greeter", "Say.Hello", '{"name":"John"}']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { msg: "Hello John" });

    nodes[0]!.child.kill("SIGTERM");
    assert.equal(await nodes[0]!.exited, 0);
    assert.deepEqual(await keys(), [etcdKey("go.micro.srv.greeter", nodes[1]!.id)], "deregistered before exit");
  } finally {
    await stopAll(nodes);
  }
});
