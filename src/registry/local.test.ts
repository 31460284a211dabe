import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, stat, utimes, writeFile, mkdir } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import type { Result, Service, Watcher } from "./registry.js";
import { LocalRegistry, defaultLocalRegistryDir } from "./local.js";
import { CacheRegistry } from "./cache.js";
import { withTimeout } from "../util/timeout.js";

const CHILD = fileURLToPath(new URL("./testdata/local-child.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "micro-local-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function svc(name: string, ids: string[], metadata: Record<string, string> | null = null, version = "1.0.0"): Service {
  return {
    name,
    version,
    metadata: null,
    endpoints: [{ name: "Say.Hello", request: { name: "Request", type: "Request", values: null }, response: null, metadata: null }],
    nodes: ids.map((id) => ({ id, address: "127.0.0.1:1234", metadata })),
  };
}

function ids(services: Service[]): string[] {
  return services.flatMap((s) => (s.nodes ?? []).map((n) => n.id)).sort();
}

/** The next event, or a failure after `ms` (a ref'd timer: the registry's own never keep the loop alive). */
function next(w: Watcher, ms = 3000): Promise<Result> {
  return withTimeout(w.next(), ms, `no event within ${ms} ms`);
}

interface Child {
  exited: Promise<void>;
  /** Resolves when the child prints `text`. */
  printed(text: string): Promise<void>;
}

function child(dir: string, steps: unknown[]): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, dir, JSON.stringify(steps)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiting: Array<{ text: string; resolve(): void }> = [];
  proc.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    for (const w of waiting) if (out.split("\n").includes(w.text)) w.resolve();
  });
  proc.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<void>((resolve, reject) =>
    proc.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`child exited ${code}: ${err}`)))),
  );
  return {
    exited,
    printed: (text) =>
      Promise.race([new Promise<void>((resolve) => waiting.push({ text, resolve })), exited.then(() => {
        if (!out.split("\n").includes(text)) throw new Error(`child exited without printing ${text}`);
      })]),
  };
}

test("defaultLocalRegistryDir follows XDG_STATE_HOME, else ~/.local/state", () => {
  const saved = process.env["XDG_STATE_HOME"];
  try {
    process.env["XDG_STATE_HOME"] = "/srv/state";
    assert.equal(defaultLocalRegistryDir(), "/srv/state/micro/registry");
    process.env["XDG_STATE_HOME"] = "relative/ignored";
    assert.equal(defaultLocalRegistryDir(), join(homedir(), ".local/state/micro/registry"));
    delete process.env["XDG_STATE_HOME"];
    assert.equal(defaultLocalRegistryDir(), join(homedir(), ".local/state/micro/registry"));
    assert.equal(new LocalRegistry().dir, defaultLocalRegistryDir());
  } finally {
    if (saved === undefined) delete process.env["XDG_STATE_HOME"];
    else process.env["XDG_STATE_HOME"] = saved;
  }
});

test("one file per node holding exactly upstream's one-node JSON, mtime = deadline", async (t) => {
  const dir = await tempDir(t);
  const r = new LocalRegistry({ dir });
  assert.equal(r.name, "local");
  // Keys out of order and a field left out, as plain JavaScript callers do.
  const loose = { nodes: [{ metadata: { k: "v" }, address: "10.0.0.1:80", id: "node/1" }], version: "v1", name: "go.micro/srv.x" };
  const before = Date.now();
  await r.register(loose as unknown as Service, { ttl: 10_000 });
  const file = join(dir, "go.micro-srv.x", "node-1.json");
  assert.equal(
    await readFile(file, "utf8"),
    '{"name":"go.micro/srv.x","version":"v1","metadata":null,"endpoints":null,' +
      '"nodes":[{"id":"node/1","address":"10.0.0.1:80","metadata":{"k":"v"}}]}',
  );
  const { mtimeMs } = await stat(file);
  assert.ok(mtimeMs >= before + 10_000 - 5 && mtimeMs <= Date.now() + 10_000 + 5, `mtime ${mtimeMs} is the deadline`);

  await r.register(svc("perm", ["p"]));
  const permanent = await stat(join(dir, "perm", "p.json"));
  assert.equal(new Date(permanent.mtimeMs).getUTCFullYear(), 2200);
  assert.deepEqual(await readdir(join(dir, "perm")), ["p.json"], "no temp files left behind");

  const [got] = await r.getService("go.micro/srv.x");
  assert.deepEqual(got, { name: "go.micro/srv.x", version: "v1", metadata: null, endpoints: null, nodes: loose.nodes.map((n) => ({ id: n.id, address: n.address, metadata: n.metadata })) });
});

test("getService merges versions, keeps names apart that share a folder; listServices sorted; deregister unlinks", async (t) => {
  const dir = await tempDir(t);
  const r = new LocalRegistry({ dir });
  await r.register(svc("a/b", ["n1", "n2"]));
  await r.register(svc("a/b", ["n3"], null, "2.0.0"));
  await r.register(svc("a-b", ["other"]));
  await r.register(svc("0first", ["z"]));
  const got = await r.getService("a/b");
  assert.deepEqual(got.map((s) => [s.version, ids([s])]), [["1.0.0", ["n1", "n2"]], ["2.0.0", ["n3"]]].sort());
  assert.deepEqual(ids(await r.getService("a-b")), ["other"]);
  assert.deepEqual(await r.getService("missing"), []);
  assert.deepEqual(
    (await r.listServices()).map((s) => `${s.name}@${s.version}`),
    ["0first@1.0.0", "a-b@1.0.0", "a/b@1.0.0", "a/b@2.0.0"],
  );
  await r.deregister(svc("a/b", ["n1"]));
  await r.deregister(svc("a/b", ["n1"])); // already gone: fine
  assert.deepEqual(ids(await r.getService("a/b")), ["n2", "n3"]);
  await assert.rejects(r.register(svc("..", ["x"])), /cannot be a folder name/);
});

test("nodes expire after their ttl; long-expired files are garbage-collected", async (t) => {
  const dir = await tempDir(t);
  const r = new LocalRegistry({ dir });
  await r.register(svc("s", ["short"]), { ttl: 250 });
  await r.register(svc("s", ["long"]), { ttl: 60_000 });
  assert.deepEqual(ids(await r.getService("s")), ["long", "short"]);
  await sleep(350);
  assert.deepEqual(ids(await r.getService("s")), ["long"]);
  assert.ok((await readdir(join(dir, "s"))).includes("short.json"), "kept during the grace period");

  const old = join(dir, "s", "short.json");
  const longAgo = (Date.now() - 5 * 60_000) / 1000;
  await utimes(old, longAgo, longAgo);
  await r.getService("s");
  assert.deepEqual(await readdir(join(dir, "s")), ["long.json"]);

  // Re-registering an expired node brings it back.
  await r.register(svc("s", ["short"]), { ttl: 60_000 });
  assert.deepEqual(ids(await r.getService("s")), ["long", "short"]);
});

test("corrupt, partial, foreign and temp files are skipped", async (t) => {
  const dir = await tempDir(t);
  const r = new LocalRegistry({ dir });
  await r.register(svc("s", ["good"]));
  const valid = await readFile(join(dir, "s", "good.json"), "utf8");
  await writeFile(join(dir, "s", "bad.json"), "{not json");
  await writeFile(join(dir, "s", "partial.json"), valid.slice(0, valid.length / 2));
  await writeFile(join(dir, "s", "empty.json"), "");
  await writeFile(join(dir, "s", "nonodes.json"), JSON.stringify({ ...svc("s", []), nodes: null }));
  await writeFile(join(dir, "s", ".tmpnode.json.123.abcd.tmp"), valid.replace("good", "tmpnode"));
  await writeFile(join(dir, "stray-file"), "not a folder");
  assert.deepEqual(ids(await r.getService("s")), ["good"]);
  assert.deepEqual(ids(await r.listServices()), ["good"]);
});

test("an unusable folder rejects with a clear error, never throws or crashes", async (t) => {
  const tmp = await tempDir(t);
  await writeFile(join(tmp, "afile"), "a regular file");
  const dir = join(tmp, "afile", "sub"); // ENOTDIR even for root, which chmod would not stop
  const r = new LocalRegistry({ dir });
  let registering: Promise<void> | undefined;
  assert.doesNotThrow(() => (registering = r.register(svc("svc", ["n"]), { ttl: 1000 })));
  await assert.rejects(registering!, (error: Error) => {
    assert.match(error.message, /^registry folder .*afile\/sub\/svc is not writable: ENOTDIR$/);
    return true;
  });
  await assert.rejects(r.deregister(svc("svc", ["n"])), /registry folder .*afile\/sub\/svc is not writable: ENOTDIR/);
  await assert.rejects(r.getService("svc"), /registry folder .*afile\/sub\/svc is not readable: ENOTDIR/);
  await assert.rejects(r.listServices(), /registry folder .*afile\/sub is not readable: ENOTDIR/);
  const w = r.watch();
  await sleep(50);
  w.stop();
  await r.close();
});

test("a watch sees this process's changes, another instance's, and a folder created later", async (t) => {
  const dir = join(await tempDir(t), "not", "yet");
  const r = new LocalRegistry({ dir });
  const other = new LocalRegistry({ dir });
  const w = r.watch();
  const onlyB = r.watch({ service: "b" });
  t.after(() => r.close());

  await r.register(svc("a", ["a1"]));
  const created = await next(w);
  assert.equal(created.action, "create");
  assert.deepEqual(ids([created.service]), ["a1"]);

  await other.register(svc("b", ["b1"]));
  const fromOther = await next(w);
  assert.deepEqual([fromOther.action, fromOther.service.name], ["create", "b"]);
  const filtered = await next(onlyB);
  assert.deepEqual([filtered.action, filtered.service.name], ["create", "b"]);

  // Same content: rewritten (the deadline moves) but no event; then a real change.
  await other.register(svc("a", ["a1"]));
  await other.register(svc("a", ["a1"], { v: "2" }));
  const updated = await next(w);
  assert.equal(updated.action, "update");
  assert.deepEqual(updated.service.nodes![0]!.metadata, { v: "2" });

  await other.deregister(svc("a", ["a1"]));
  const deleted = await next(w);
  assert.equal(deleted.action, "delete");
  assert.deepEqual(deleted.service.nodes![0]!.metadata, { v: "2" }, "delete carries the last known content");

  w.stop();
  onlyB.stop();
  await assert.rejects(w.next(), /watcher stopped/);
});

test("watch sees other processes' create, update, delete and ttl expiry", async (t) => {
  const dir = await tempDir(t);
  const r = new LocalRegistry({ dir });
  t.after(() => r.close());
  const w = r.watch();
  const onlyOther = r.watch({ service: "other" });
  await r.getService("x"); // waits for the watch's baseline

  const base = svc("remote", ["n1"]);
  const proc = child(dir, [
    { op: "register", service: base },
    { op: "sleep", ms: 300 },
    { op: "register", service: base }, // unchanged: no event
    { op: "register", service: svc("remote", ["n1"], { zone: "b" }) },
    { op: "sleep", ms: 300 },
    { op: "deregister", service: base },
    { op: "sleep", ms: 300 },
    { op: "register", service: svc("other", ["o1"]), ttl: 400 }, // the child exits; the node just expires
  ]);
  const events: string[] = [];
  const take = async () => {
    const e = await next(w, 5000);
    events.push(`${e.action} ${e.service.name} ${ids([e.service])} ${JSON.stringify(e.service.nodes![0]!.metadata)}`);
    return e;
  };
  await take();
  await take();
  await take();
  const created = await take();
  const createdAt = Date.now();
  assert.equal(created.service.name, "other");
  await proc.exited;
  await take();
  const expiredAfter = Date.now() - createdAt;
  assert.deepEqual(events, [
    "create remote n1 null",
    'update remote n1 {"zone":"b"}',
    'delete remote n1 {"zone":"b"}',
    "create other o1 null",
    "delete other o1 null",
  ]);
  assert.ok(expiredAfter >= 250 && expiredAfter < 1500, `expired ${expiredAfter} ms after its creation was seen`);
  assert.equal((await next(onlyOther)).action, "create");
  assert.equal((await next(onlyOther)).action, "delete");
  assert.deepEqual(await r.getService("other"), []);
});

test("many processes registering at once: atomic files, readers never see a torn or missing node", async (t) => {
  const dir = await tempDir(t);
  const r = new LocalRegistry({ dir });
  const CHILDREN = 4;
  const OWN = 8;
  const shared = svc("hammer", ["shared-0", "shared-1", "shared-2"]);
  const procs = Array.from({ length: CHILDREN }, (_, c) => {
    const own = svc("hammer", Array.from({ length: OWN }, (_, i) => `c${c}-n${i}`));
    return child(dir, [
      { op: "register", service: own },
      { op: "register", service: shared },
      { op: "print", text: "ready" },
      { op: "churn", service: { ...own, nodes: [...own.nodes!, ...shared.nodes!] }, times: 40 },
    ]);
  });
  await Promise.all(procs.map((p) => p.printed("ready")));
  let running = true;
  const all = Promise.all(procs.map((p) => p.exited)).finally(() => (running = false));
  let reads = 0;
  while (running) {
    const got = await r.getService("hammer");
    const seen = ids(got);
    assert.equal(seen.length, CHILDREN * OWN + 3, `read ${reads}: every node present and whole`);
    reads++;
  }
  await all;
  assert.ok(reads > 5, `reads overlapped the writers (${reads})`);
  const names = await readdir(join(dir, "hammer"));
  assert.equal(names.length, CHILDREN * OWN + 3, `no temp files left: ${names.filter((n) => !n.endsWith(".json"))}`);
  for (const name of names) JSON.parse(await readFile(join(dir, "hammer", name), "utf8"));
});

test("an idle registry and its stopped watchers hold no timers", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "s"));
  const r = new LocalRegistry({ dir });
  const a = r.watch();
  const b = r.watch({ service: "s" });
  a.stop();
  await r.register(svc("s", ["n"]), { ttl: 60_000 });
  assert.equal((await next(b)).action, "create");
  await r.close();
  await assert.rejects(b.next(), /watcher stopped/);
  await assert.rejects(r.watch().next(), /watcher stopped/);
  // Reaching the end without a hang (the runner waits for the loop) is the assertion.
});

test("a node re-registered under another version leaves the old one: watch says delete@old first, a cache follows", async (t) => {
  const dir = await tempDir(t);
  const owner = new LocalRegistry({ dir }); // the process that owns n1
  const reader = new LocalRegistry({ dir }); // another process, watching through a cache
  const cache = new CacheRegistry(reader, { logger: { warn: () => {} } });
  t.after(async () => {
    await cache.close();
    await reader.close();
    await owner.close();
  });
  const versions = (services: Service[]) =>
    services.map((s) => [s.version, ids([s])] as const).sort(([a], [b]) => a.localeCompare(b));
  /** Polls the cache (bounded) until it lists `want`, then asserts it does. */
  const cacheListsWithin = async (want: Array<readonly [string, string[]]>, ms = 3000) => {
    const deadline = Date.now() + ms;
    let got = versions(await cache.getService("s"));
    while (JSON.stringify(got) !== JSON.stringify(want) && Date.now() < deadline) {
      await sleep(25);
      got = versions(await cache.getService("s"));
    }
    assert.deepEqual(got, want);
  };

  await owner.register(svc("s", ["n1"], null, "1"));
  const w = reader.watch({ service: "s" });
  t.after(() => w.stop());
  await reader.getService("s"); // waits for the watch's baseline, which holds n1@1
  assert.deepEqual(versions(await cache.getService("s")), [["1", ["n1"]]]);

  await owner.register(svc("s", ["n1"], null, "2"));
  // Without a delete for "1", the cache (which merges events by version) would keep n1 under "1" for good.
  await cacheListsWithin([["2", ["n1"]]]);
  const events: Result[] = [await next(w), await next(w)]; // both already queued: the scanner emits to all watchers at once
  assert.deepEqual(events.map((e) => [e.action, e.service.version, ids([e.service])]), [
    ["delete", "1", ["n1"]],
    ["update", "2", ["n1"]],
  ]);
  assert.deepEqual(versions(await owner.getService("s")), [["2", ["n1"]]]);

  await owner.deregister(svc("s", ["n1"], null, "2"));
  const deleted = await next(w);
  assert.deepEqual([deleted.action, deleted.service.version, ids([deleted.service])], ["delete", "2", ["n1"]]);
  await cacheListsWithin([]);
  assert.deepEqual(await owner.getService("s"), []);
  assert.deepEqual(await reader.getService("s"), []);
});
