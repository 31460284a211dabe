// The mDNS registry between "hosts": network namespaces on one bridge, since
// loopback carries no multicast. Every process here is real and runs inside
// its host: greeter services, the micro CLI, and client peers
// (test/fixtures/mdns-peer.ts) that watch, cache and call.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createLan, type Host, type Lan } from "./netns.js";
import { ROOT, micro, startProcess, stopAll, type Proc } from "./helpers.js";

const SERVICE = "go.micro.srv.greeter";
const via = (host: Host) => ["ip", "netns", "exec", host.ns];

function greeter(host: Host, ...flags: string[]): Promise<Proc> {
  return startProcess(host.exec(process.execPath, "--import", "tsx", "examples/greeter/srv/main.ts", "--registry=mdns", `--server_address=${host.ip}:0`, ...flags));
}

interface Line {
  t?: number;
  event?: string;
  id?: string;
  cached?: string[];
  ready?: boolean;
  ok?: number;
  failed?: string[];
}

/** A client process in a host: its JSON lines, and a way to wait for one. */
function peer(host: Host, load = 0) {
  const argv = host.exec(process.execPath, "--import", "tsx", "test/fixtures/mdns-peer.ts");
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, LOAD: String(load) }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Line[] = [];
  let stderr = "";
  let buffered = "";
  const waiting = new Set<() => void>();
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, nl)) as Line);
      buffered = buffered.slice(nl + 1);
    }
    for (const wake of [...waiting]) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const expect = (what: string, match: (l: Line) => boolean, ms: number) =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (!found) return;
        clearTimeout(timer);
        waiting.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiting.delete(check);
        reject(new Error(`peer in ${host.ns}: no ${what} within ${ms} ms; lines: ${JSON.stringify(lines)}\n${stderr}`));
      }, ms);
      waiting.add(check);
      check();
    });
  return {
    lines,
    expect,
    /** SIGTERM, then the load summary. */
    async stop(): Promise<Line> {
      child.kill("SIGTERM");
      const summary = await expect("load summary", (l) => l.ok !== undefined, 10_000);
      await exited;
      return summary;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      return exited;
    },
  };
}

async function withLan(hosts: number, body: (lan: Lan) => Promise<void>): Promise<void> {
  const lan = createLan(hosts);
  try {
    await body(lan);
  } finally {
    lan.remove();
  }
}

test("mdns: a service on one host is listed, described and called from the others; gone after SIGTERM", () =>
  withLan(3, async ({ hosts: [h1, h2, h3] }) => {
    const node = await greeter(h1!);
    try {
      const list = await micro(["--registry=mdns", "list", "services"], {}, via(h2!));
      assert.equal(list.code, 0, list.stderr);
      assert.equal(list.stdout, `${SERVICE}\n`);

      const get = await micro(["--registry=mdns", "get", "service", SERVICE], {}, via(h3!));
      assert.equal(get.code, 0, get.stderr);
      assert.match(get.stdout, new RegExp(`${node.id}\\s+${h1!.ip.replace(/\./g, "\\.")}:\\d+\\s+.*registry=mdns`));
      assert.match(get.stdout, /Endpoint: Say\.Hello/);

      const call = await micro(["--registry=mdns", "call", SERVICE, "Say.Hello", '{"name":"John"}'], {}, via(h2!));
      assert.equal(call.code, 0, call.stderr);
      assert.deepEqual(JSON.parse(call.stdout), { msg: "Hello John" });

      node.child.kill("SIGTERM");
      assert.equal(await node.exited, 0, node.stderr());
      const after = await micro(["--registry=mdns", "list", "services"], {}, via(h2!));
      assert.equal(after.code, 0, after.stderr);
      assert.equal(after.stdout, "", "the goodbye removed it");
    } finally {
      await stopAll([node]);
    }
  }));

test("mdns: a watcher on another host sees a node arrive, and leave at once on a graceful stop", () =>
  withLan(2, async ({ hosts: [h1, h2] }) => {
    const watcher = peer(h2!);
    let node: Proc | undefined;
    try {
      await watcher.expect("ready", (l) => l.ready === true, 10_000);
      node = await greeter(h1!);
      const created = await watcher.expect("create event", (l) => l.event === "create" && l.id === node!.id, 5_000);
      assert.ok(created.t);
      await watcher.expect("the node in the cache", (l) => l.cached?.includes(node!.id) === true, 5_000);

      const stoppedAt = Date.now();
      node.child.kill("SIGTERM");
      const deleted = await watcher.expect("delete event", (l) => l.event === "delete" && l.id === node!.id, 5_000);
      await watcher.expect("an empty cache", (l) => l.cached !== undefined && l.cached.length === 0 && l.t! >= deleted.t!, 5_000);
      assert.equal(await node.exited, 0, node.stderr());
      // The goodbye is sent before the listener closes: no TTL to wait out.
      assert.ok(deleted.t! - stoppedAt < 1_000, `delete seen ${deleted.t! - stoppedAt} ms after SIGTERM`);
    } finally {
      await watcher.kill();
      if (node) await stopAll([node]);
    }
  }));

test("mdns: kill -9 of one of two nodes under load: zero failed calls, and every watcher drops it within the TTL", () =>
  withLan(3, async ({ hosts: [h1, h2, h3] }) => {
    const flags = ["--register_ttl=2", "--register_interval=1"];
    const nodes = await Promise.all([greeter(h1!, ...flags), greeter(h2!, ...flags)]);
    const ids = nodes.map((n) => n.id).sort();
    const caller = peer(h3!, 10);
    const idle = peer(h3!);
    const far = peer(h2!); // on the surviving node's host
    try {
      for (const p of [caller, idle, far]) {
        await p.expect("both nodes cached", (l) => JSON.stringify(l.cached) === JSON.stringify(ids), 10_000);
      }
      await new Promise((r) => setTimeout(r, 1_000));
      const killedAt = Date.now();
      nodes[0]!.child.kill("SIGKILL");
      const survivor = [nodes[1]!.id];
      const drops: number[] = [];
      for (const p of [idle, far]) {
        const dropped = await p.expect("the killed node dropped", (l) => JSON.stringify(l.cached) === JSON.stringify(survivor) && l.t! >= killedAt, 6_000);
        drops.push(dropped.t! - killedAt);
      }
      console.log(`# mdns kill -9: idle watchers dropped the node ${drops.join(" and ")} ms after the kill (TTL 2 s)`);
      for (const ms of drops) assert.ok(ms <= 2_600, `dropped ${ms} ms after the kill, TTL 2 s`);
      await new Promise((r) => setTimeout(r, 500));
      const summary = await caller.stop();
      assert.deepEqual(summary.failed, []);
      assert.ok(summary.ok! > 500, `calls flowed (${summary.ok})`);
    } finally {
      await Promise.all([caller.kill(), idle.kill(), far.kill()]);
      await stopAll(nodes);
    }
  }));

test("mdns: without a multicast route the CLI fails with one line and exit code 1", () =>
  withLan(1, async (lan) => {
    const [h1] = lan.hosts;
    lan.unplug(h1!); // eth0 down: no route at all
    const started = Date.now();
    const run = await micro(["--registry=mdns", "list", "services"], {}, via(h1!));
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    assert.match(run.stderr, /mdns: cannot send a query: .*ENETUNREACH/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    assert.ok(Date.now() - started < 5_000);
  }));

test("mdns: a node re-registered under another version leaves the old one in every watcher", () =>
  withLan(1, async ({ hosts: [h1] }) => {
    const argv = h1!.exec(process.execPath, "--import", "tsx", "test/fixtures/mdns-versions.ts", h1!.ip);
    const run = spawnSync(argv[0]!, argv.slice(1), { cwd: ROOT, encoding: "utf8", timeout: 20_000 });
    assert.equal(run.status, 0, run.stderr);
    // Caches merge by version: without the delete they would keep n1 under version 1.
    assert.deepEqual(JSON.parse(run.stdout), ["create@1", "delete@1", "create@2", "delete@2"]);
  }));
