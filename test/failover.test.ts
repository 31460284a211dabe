// Nodes die under load: with retries=1 no call may fail. Real processes, a
// real local registry, the client in this process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Client, LocalRegistry, CacheRegistry } from "../src/index.js";
import { nodesOf, startService, stopAll, tempDir, waitFor, type Proc } from "./helpers.js";

const NODE = "test/fixtures/node.ts";

interface Load {
  ok: number;
  failed: string[];
  perNode: Map<string, number>;
  stop(): Promise<void>;
}

/** `concurrency` callers calling Node.Sleep in a loop until stopped. */
function load(client: Client, concurrency: number, retries: number): Load {
  const result: Load = { ok: 0, failed: [], perNode: new Map(), stop: async () => undefined };
  let running = true;
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const rsp = await client.call<{ id: string }>("test.node", "Node.Sleep", { ms: 5 }, { retries, timeout: 5_000 });
        result.ok++;
        result.perNode.set(rsp.id, (result.perNode.get(rsp.id) ?? 0) + 1);
      } catch (err) {
        result.failed.push(String(err));
      }
    }
  });
  result.stop = async () => {
    running = false;
    await Promise.all(workers);
  };
  return result;
}

async function cluster(n: number, args: string[] = []) {
  const dir = await tempDir();
  const nodes = await Promise.all(Array.from({ length: n }, () => startService(NODE, dir.path, args)));
  const registry = new CacheRegistry(new LocalRegistry({ dir: dir.path }));
  const client = new Client({ registry, retries: 1 });
  const close = async () => {
    client.close();
    await registry.close();
    await stopAll(nodes);
    await dir.remove();
  };
  return { dir, nodes, client, close };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("kill -9 of one node under load: zero failed calls with retries=1", async () => {
  // A long TTL: the registry keeps listing the dead node; the client must cope.
  const c = await cluster(3, ["--register_ttl=60"]);
  try {
    const l = load(c.client, 20, 1);
    await sleep(800);
    const victim = c.nodes[0]!;
    victim.child.kill("SIGKILL");
    await victim.exited;
    const killedAt = l.ok;
    await sleep(1500);
    await l.stop();
    assert.deepEqual(l.failed, []);
    assert.ok(l.ok - killedAt > 200, `calls went on after the kill (${l.ok - killedAt})`);
    assert.equal(c.nodes.filter((n) => l.perNode.has(n.id)).length, 3, "all three nodes served before the kill");
    // the dead node is still registered (TTL 60 s), yet after the kill it answers nothing
    assert.ok((await nodesOf(c.dir.path, "test.node")).some((n) => n.id === victim.id));
  } finally {
    await c.close();
  }
});

test("a node that refuses connections is skipped at once, not after its TTL", async () => {
  const c = await cluster(2, ["--register_ttl=60"]);
  try {
    await c.client.call("test.node", "Node.Whoami", {}); // warm the cache
    const victim = c.nodes[0]!;
    victim.child.kill("SIGKILL");
    await victim.exited;
    // Without retries a call may fail once, when it is the one that finds out.
    const failed: string[] = [];
    for (let i = 0; i < 5; i++) {
      await c.client.call("test.node", "Node.Whoami", {}, { retries: 0 }).catch((err: Error) => failed.push(err.message));
    }
    assert.ok(failed.length <= 1, `at most the first call fails: ${JSON.stringify(failed)}`);
    for (let i = 0; i < 200; i++) {
      const rsp = await c.client.call<{ id: string }>("test.node", "Node.Whoami", {}, { retries: 0 });
      assert.equal(rsp.id, c.nodes[1]!.id);
    }
  } finally {
    await c.close();
  }
});

test("SIGTERM under load: zero failed calls, the node deregisters and exits 0", async () => {
  const c = await cluster(3);
  try {
    const l = load(c.client, 20, 1);
    await sleep(800);
    const victim = c.nodes[1]!;
    victim.child.kill("SIGTERM");
    assert.equal(await victim.exited, 0, victim.stderr());
    assert.ok(!(await nodesOf(c.dir.path, "test.node")).some((n) => n.id === victim.id), "deregistered");
    await sleep(800);
    await l.stop();
    assert.deepEqual(l.failed, []);
    assert.match(victim.stderr(), /Deregistering node/);
    assert.ok(victim.stderr().indexOf("Deregistering node") < victim.stderr().indexOf("Stopped [service]"));
  } finally {
    await c.close();
  }
});

test("SIGTERM waits for calls in flight to finish", async () => {
  const c = await cluster(1);
  try {
    const slow = c.client.call<{ id: string }>("test.node", "Node.Sleep", { ms: 700 }, { retries: 0 });
    await sleep(150);
    c.nodes[0]!.child.kill("SIGTERM");
    assert.equal((await slow).id, c.nodes[0]!.id);
    assert.equal(await c.nodes[0]!.exited, 0);
  } finally {
    await c.close();
  }
});

test("round robin spreads calls evenly over three greeter nodes", async () => {
  const dir = await tempDir();
  const nodes = await Promise.all([0, 1, 2].map(() => startService("examples/greeter/srv/main.ts", dir.path)));
  const registry = new CacheRegistry(new LocalRegistry({ dir: dir.path }));
  const client = new Client({ registry, strategy: "roundrobin" });
  try {
    await waitFor("three nodes", async () => (await registry.getService("go.micro.srv.greeter"))[0]?.nodes?.length === 3);
    const requests = async () => {
      const list = (await registry.getService("go.micro.srv.greeter"))[0]!.nodes!;
      const out = new Map<string, number>();
      for (const n of list) {
        const s = await client.call<{ requests: number }>("go.micro.srv.greeter", "Debug.Stats", {}, { address: n.address });
        out.set(n.id, s.requests);
      }
      return out;
    };
    const before = await requests();
    for (let i = 0; i < 300; i++) {
      const rsp = await client.call<{ msg: string }>("go.micro.srv.greeter", "Say.Hello", { name: `n${i}` });
      assert.equal(rsp.msg, `Hello n${i}`);
    }
    const after = await requests();
    // each node got exactly a third (the Stats call itself adds one)
    for (const n of nodes) assert.equal(after.get(n.id)! - before.get(n.id)! - 1, 100, `node ${n.id}`);
  } finally {
    client.close();
    await registry.close();
    await stopAll(nodes);
    await dir.remove();
  }
});
