// A three-member etcd cluster on 127.0.0.1: one member is killed while calls
// flow. Calls, renewals and lookups carry on through the other two.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import { CacheRegistry, Client, EtcdRegistry, etcdKey } from "../src/index.js";
import { startEtcdCluster } from "./etcd.js";
import { micro, startService, stopAll, waitFor } from "./helpers.js";

/** `concurrency` callers of the greeter until stop(); every reply is checked. */
function greeterLoad(client: Client, concurrency: number) {
  const state = { ok: 0, failed: [] as string[], running: true };
  const loops = Array.from({ length: concurrency }, async () => {
    while (state.running) {
      try {
        const rsp = await client.call<{ msg: string }>("go.micro.srv.greeter", "Say.Hello", { name: "John" });
        if (rsp.msg === "Hello John") state.ok++;
        else state.failed.push(JSON.stringify(rsp));
      } catch (err) {
        state.failed.push((err as Error).message);
      }
    }
  });
  return {
    get ok() { return state.ok; },
    failed: state.failed,
    stop: async () => {
      state.running = false;
      await Promise.all(loops);
    },
  };
}

test("one of three etcd members killed under load: zero failed calls, nodes stay registered", async () => {
  const members = await startEtcdCluster(3);
  const address = members.map((m) => m.address).join(",");
  const flags = ["--registry=etcd", `--registry_address=${address}`, "--register_ttl=3", "--register_interval=1"];
  const nodes = await Promise.all([0, 1].map(() => startService("examples/greeter/srv/main.ts", "unused", flags)));
  const registry = new EtcdRegistry({ address });
  const cache = new CacheRegistry(registry, { logger: { warn() {} } });
  const client = new Client({ registry: cache });
  const raw = new Etcd3({ hosts: members.slice(1).map((m) => `http://${m.address}`) });
  try {
    const load = greeterLoad(client, 10);
    await new Promise((r) => setTimeout(r, 1_000));
    const before = load.ok;
    await members[0]!.kill();
    // Longer than the TTL: the nodes' renewals must reach the surviving members.
    await new Promise((r) => setTimeout(r, 4_000));
    await load.stop();
    assert.deepEqual(load.failed, []);
    assert.ok(load.ok - before > 1_000, `calls kept flowing after the kill (${load.ok - before})`);

    // Renewals reach the surviving members (one that was on its way to the dead one may be retried, hence a short wait).
    const want = nodes.map((n) => etcdKey("go.micro.srv.greeter", n.id)).sort();
    const keys = async () => Object.keys(await raw.getAll().prefix("/micro/registry/go.micro.srv.greeter/").strings()).sort();
    await waitFor(`both nodes registered 4 s (> TTL 3 s) after the kill; node logs:\n${nodes.map((n) => n.stderr()).join("\n")}`,
      async () => JSON.stringify(await keys()) === JSON.stringify(want), 5_000);
    // The CLI, given all three addresses, answers from the survivors.
    const run = await micro(["--registry=etcd", "--registry_address", address, "list", "services"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "go.micro.srv.greeter\n");
  } finally {
    client.close();
    await cache.close();
    await registry.close();
    raw.close();
    await stopAll(nodes);
    await Promise.all(members.map((m) => m.remove()));
  }
});

test("etcd stopped: services keep serving, clients call from the cache (one warning), re-registration on return", async () => {
  const [etcd] = await startEtcdCluster(1);
  const flags = ["--registry=etcd", `--registry_address=${etcd!.address}`, "--register_ttl=3", "--register_interval=1"];
  const node = await startService("examples/greeter/srv/main.ts", "unused", flags);
  const registry = new EtcdRegistry({ address: etcd!.address, timeout: 1_000 });
  const warnings: string[] = [];
  const cache = new CacheRegistry(registry, { logger: { warn: (m) => warnings.push(m) } });
  const client = new Client({ registry: cache });
  const raw = new Etcd3({ hosts: `http://${etcd!.address}` });
  try {
    const load = greeterLoad(client, 5);
    await new Promise((r) => setTimeout(r, 500));
    await etcd!.stop();
    const during = load.ok;
    await new Promise((r) => setTimeout(r, 4_000)); // longer than the TTL: the lease is gone when etcd returns
    const servedDuringOutage = load.ok - during;
    await etcd!.restart();
    await waitFor("the service to re-register by itself", async () =>
      (await raw.get(etcdKey("go.micro.srv.greeter", node.id)).string().catch(() => null)) !== null, 10_000);
    await load.stop();
    assert.deepEqual(load.failed, []);
    assert.ok(servedDuringOutage > 500, `calls went on while etcd was down (${servedDuringOutage})`);
    assert.match(node.stderr(), /Server register error: etcd register go\.micro\.srv\.greeter/, "renewals failed, logged, not fatal");
    assert.ok(warnings.length <= 2, `warned once per outage, not per call: ${warnings.length}`);
    assert.ok(warnings.every((w) => w.startsWith("registry cache: ")), warnings.join("\n"));
    // And it still stops cleanly: deregistered, exit 0.
    node.child.kill("SIGTERM");
    assert.equal(await node.exited, 0, node.stderr());
    assert.equal(await raw.get(etcdKey("go.micro.srv.greeter", node.id)).string(), null);
  } finally {
    client.close();
    await cache.close();
    await registry.close();
    raw.close();
    await stopAll([node]);
    await etcd!.remove();
  }
});

test("kill -9 on etcd: the caller skips the node at once, an idle client drops it when the lease expires", async () => {
  const [etcd] = await startEtcdCluster(1);
  const flags = ["--registry=etcd", `--registry_address=${etcd!.address}`, "--register_ttl=2", "--register_interval=1"];
  const nodes = await Promise.all([0, 1].map(() => startService("examples/greeter/srv/main.ts", "unused", flags)));
  const caller = new CacheRegistry(new EtcdRegistry({ address: etcd!.address }), { logger: { warn() {} } });
  const idle = new CacheRegistry(new EtcdRegistry({ address: etcd!.address }), { logger: { warn() {} } });
  const client = new Client({ registry: caller });
  try {
    await idle.getService("go.micro.srv.greeter"); // cached and watched, never called
    const load = greeterLoad(client, 5);
    await new Promise((r) => setTimeout(r, 500));
    const victim = nodes[0]!;
    victim.child.kill("SIGKILL");
    await victim.exited;
    const killedAt = Date.now();
    const ids = () => (idle.cached("go.micro.srv.greeter") ?? []).flatMap((s) => (s.nodes ?? []).map((n) => n.id));
    await waitFor("the idle client's cache to drop the dead node", () => !ids().includes(victim.id), 10_000);
    const dropped = Date.now() - killedAt;
    await load.stop();
    assert.deepEqual(load.failed, [], "retries=1: the caller never fails");
    assert.deepEqual(ids(), [nodes[1]!.id]);
    // The lease's TTL is 2 s; etcd expires leases within about a second after that.
    assert.ok(dropped <= 2_000 + 2_500, `dropped ${dropped} ms after the kill`);
    console.log(`kill -9 → idle client drops the node: ${dropped} ms (TTL 2 s)`);
  } finally {
    client.close();
    await caller.close();
    await idle.close();
    await stopAll(nodes);
    await etcd!.remove();
  }
});

test("10,000 nodes over 1,000 services: micro list services and get service stay under 1 s", async () => {
  const [etcd] = await startEtcdCluster(1);
  const raw = new Etcd3({ hosts: `http://${etcd!.address}` });
  try {
    const registry = new EtcdRegistry({ address: etcd!.address });
    const jobs: Promise<void>[] = [];
    for (let s = 0; s < 1_000; s++) {
      const nodes = Array.from({ length: 10 }, (_, n) => ({ id: `svc-${s}-${n}`, address: `10.0.${s % 250}.${n}:${10_000 + s}`, metadata: { registry: "etcd", server: "mucp" } }));
      jobs.push(registry.register({ name: `svc-${String(s).padStart(4, "0")}`, version: "latest", metadata: null, endpoints: null, nodes }));
      if (jobs.length === 50) await Promise.all(jobs.splice(0));
    }
    await Promise.all(jobs);
    await registry.close();
    assert.equal((await raw.getAll().prefix("/micro/registry/").keys()).length, 10_000);

    let t = Date.now();
    const list = await micro(["--registry=etcd", "--registry_address", etcd!.address, "list", "services"]);
    const listMs = Date.now() - t;
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.trim().split("\n").length, 1_000);
    t = Date.now();
    const get = await micro(["--registry=etcd", "--registry_address", etcd!.address, "get", "service", "svc-0500"]);
    const getMs = Date.now() - t;
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout.split("\n").filter((l) => l.startsWith("svc-500-")).length, 10);
    console.log(`10k nodes / 1k services: micro list services ${listMs} ms, micro get service ${getMs} ms (process start included)`);
    assert.ok(listMs < 1_000 && getMs < 1_000, `list ${listMs} ms, get ${getMs} ms`);
  } finally {
    raw.close();
    await etcd!.remove();
  }
});
