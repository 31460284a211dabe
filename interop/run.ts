// Interop harness: a real go-micro v2.9.1 service (interop/go) and micro-ts
// services find and call each other through a real etcd, and (once micro-ts
// has an mdns registry) through mDNS between two network namespaces.
//
//   npx tsx interop/run.ts            etcd checks, then mDNS (needs root and `ip`)
//   npx tsx interop/run.ts --no-mdns  etcd checks only
//
// Prints PASS/FAIL/SKIP per check and exits 1 on any FAIL. See interop/README.md.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Etcd3 } from "etcd3";
import { startEtcd, type Etcd } from "../test/etcd.js";
import { REGISTRIES } from "../src/registry/index.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const GO_DIR = join(ROOT, "interop", "go");
const GO_BIN = join(GO_DIR, "bin", "gogreeter");
const MICRO_CLI = join(ROOT, "bin", "micro.js");
const TS_GREETER = join(ROOT, "examples", "greeter", "srv", "main.ts");
const GO_SERVICE = "go.micro.srv.gogreeter";
const TS_SERVICE = "go.micro.srv.greeter";

// ---------------------------------------------------------------- reporting

let failures = 0;
let passes = 0;

function check(name: string, ok: boolean, detail = ""): boolean {
  if (ok) passes++;
  else failures++;
  console.log(`${ok ? "PASS" : "FAIL"}  ${name}`);
  if (!ok && detail) console.log(indent(detail));
  return ok;
}

function skip(name: string, why: string): void {
  console.log(`SKIP  ${name}: ${why}`);
}

function section(title: string): void {
  console.log(`\n== ${title}`);
}

function indent(text: string, by = "    "): string {
  return text.replace(/\n$/, "").split("\n").map((l) => by + l).join("\n");
}

function show(label: string, r: Run): void {
  console.log(`  $ ${label}  (exit ${r.code})`);
  if (r.stdout.trim()) console.log(indent(r.stdout));
  if (r.stderr.trim()) console.log(indent(r.stderr, "    stderr: "));
}

// ---------------------------------------------------------------- processes

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (at most `timeout` ms), inside `netns` when given. */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number; netns?: string } = {}): Promise<Run> {
  const [c, a] = opts.netns ? ["ip", ["netns", "exec", opts.netns, cmd, ...args]] : [cmd, args];
  return new Promise((resolve) => {
    const child = spawn(c, a, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeout ?? 30_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err) });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Proc {
  name: string;
  child: ChildProcess;
  output(): string;
  /** The node id from the "Registering node: <id>" log line. */
  nodeId: string;
  /** Sends `signal` and resolves with the exit code once it has exited (SIGKILL after 10 s). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<Proc>();
/** Teardowns still owed (etcd, namespaces), run on Ctrl-C too. */
const cleanups = new Set<() => Promise<void>>();

/** Starts a long-running server and resolves once it logged "Registering node: <id>". */
function startServer(name: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; netns?: string } = {}): Promise<Proc> {
  const [c, a] = opts.netns ? ["ip", ["netns", "exec", opts.netns, cmd, ...args]] : [cmd, args];
  const child = spawn(c, a, { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const proc: Proc = {
    name,
    child,
    nodeId: "",
    output: () => out,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill(signal);
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(t);
      running.delete(proc);
      return code;
    },
  };
  running.add(proc);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not register within 30 s:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Registering node: (\S+)/.exec(out);
      if (m && !proc.nodeId) {
        proc.nodeId = m[1]!;
        clearTimeout(timer);
        resolve(proc);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!proc.nodeId) reject(new Error(`${name} exited with ${code} before registering:\n${out}`));
    });
  });
}

// ---------------------------------------------------------------- builds

function newestMtime(dir: string, filter: (f: string) => boolean): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p, filter));
    else if (filter(p)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function mtime(p: string): number {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

async function buildAll(): Promise<boolean> {
  section("build");
  const dist = join(ROOT, "dist", "cmd", "micro.js");
  if (mtime(dist) < newestMtime(join(ROOT, "src"), (f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
    console.log("  npm run build (dist/ missing or older than src/)");
    const r = await run("npm", ["run", "build"], { timeout: 300_000 });
    if (!check("npm run build", r.code === 0, r.stdout + r.stderr)) return false;
  } else {
    console.log("  dist/ is up to date");
  }
  const goInputs = ["main.go", "go.mod", "go.sum"].map((f) => mtime(join(GO_DIR, f)));
  if (mtime(GO_BIN) < Math.max(...goInputs)) {
    console.log("  go build -o bin/gogreeter . (first build downloads modules and takes a minute)");
    const r = await run("go", ["build", "-o", "bin/gogreeter", "."], { cwd: GO_DIR, timeout: 600_000 });
    if (!check("go build interop/go", r.code === 0, r.stdout + r.stderr)) return false;
  } else {
    console.log("  interop/go/bin/gogreeter is up to date");
  }
  const v = await run("go", ["version", "-m", GO_BIN], { cwd: GO_DIR });
  const goVersion = /:\s+(go\S+)/.exec(v.stdout)?.[1] ?? "?";
  const microVersion = /\sgithub\.com\/micro\/go-micro\/v2\s+(\S+)/.exec(v.stdout)?.[1] ?? "?";
  const grpcVersion = /\sgoogle\.golang\.org\/grpc\s+\S+\s*\n\s*=>\s*google\.golang\.org\/grpc\s+(\S+)/.exec(v.stdout)?.[1]
    ?? /\sgoogle\.golang\.org\/grpc\s+(\S+)/.exec(v.stdout)?.[1] ?? "?";
  console.log(`  gogreeter built with ${goVersion}, go-micro/v2 ${microVersion}, grpc ${grpcVersion}; node ${process.version}`);
  return check("gogreeter links go-micro v2.9.1", microVersion === "v2.9.1", v.stdout);
}

// ---------------------------------------------------------------- the two programs

function micro(registry: string, address: string, args: string[], netns?: string): Promise<Run> {
  const flags = [`--registry=${registry}`, ...(address ? [`--registry_address=${address}`] : [])];
  return run(process.execPath, [MICRO_CLI, ...flags, ...args], { netns, timeout: 30_000 });
}

function goCli(registry: string, address: string, args: string[], opts: { netns?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  // The env form of registry selection, as a Go service started by a platform would get it.
  const env = { MICRO_REGISTRY: registry, MICRO_REGISTRY_ADDRESS: address, ...opts.env };
  return run(GO_BIN, args, { env, netns: opts.netns, timeout: 30_000 });
}

function startGoServer(registry: string, address: string, netns?: string): Promise<Proc> {
  // The flag form, to show both forms work.
  const flags = [`--registry=${registry}`, ...(address ? [`--registry_address=${address}`] : [])];
  return startServer("Go gogreeter", GO_BIN, [...flags, "server"], { netns });
}

function startTsGreeter(registry: string, address: string, netns?: string): Promise<Proc> {
  // node --import tsx rather than `npx tsx`: npx does not pass SIGTERM on to the
  // service, and SIGTERM (deregister, then exit) is part of what is checked.
  return startServer("TS greeter", process.execPath, ["--import", "tsx", TS_GREETER], {
    env: { MICRO_REGISTRY: registry, MICRO_REGISTRY_ADDRESS: address },
    netns,
  });
}

interface GoService {
  name?: string;
  endpoints?: { name?: string; request?: { values?: { name?: string; type?: string }[] }; response?: { values?: { name?: string; type?: string }[] } }[];
  nodes?: { id?: string; address?: string; metadata?: Record<string, string> }[];
}

/** go-micro's GetService answer (as decoded by go-micro) describes the TS greeter fully. */
function goSeesTsGreeter(r: Run, nodeId: string): boolean {
  const s = (parseJSON(r.stdout) as GoService[] | undefined)?.[0];
  const ep = s?.endpoints?.find((e) => e.name === "Say.Hello");
  return r.code === 0 && s?.name === TS_SERVICE && s.nodes?.length === 1 && s.nodes[0]!.id === nodeId &&
    s.nodes[0]!.metadata?.protocol === "mucp" && ep?.request?.values?.[0]?.name === "name" && ep.response?.values?.[0]?.name === "msg";
}

function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- etcd values

interface EtcdEntry {
  key: string;
  value: Buffer;
  lease: string;
  ttl: string;
}

async function etcdEntries(address: string, prefix: string): Promise<EtcdEntry[]> {
  const client = new Etcd3({ hosts: `http://${address}` });
  try {
    const rsp = await client.getAll().prefix(prefix).exec();
    const out: EtcdEntry[] = [];
    for (const kv of rsp.kvs) {
      let ttl = "-";
      if (kv.lease !== "0") {
        const t = await client.leaseClient.leaseTimeToLive({ ID: kv.lease });
        ttl = `${t.TTL}s left of ${t.grantedTTL}s`;
      }
      out.push({ key: kv.key.toString(), value: kv.value, lease: kv.lease, ttl });
    }
    return out;
  } finally {
    client.close();
  }
}

function printEntry(who: string, e: EtcdEntry): void {
  console.log(`  ${who} key:   ${e.key}`);
  console.log(`  ${who} lease: ${e.lease} (${e.ttl})`);
  console.log(`  ${who} value (${e.value.length} bytes, raw):`);
  console.log(indent(e.value.toString("latin1")));
}

/**
 * Differences in shape between two registry values: key order, null vs {} vs [],
 * types. Values that must differ (names, ids, addresses) are not compared.
 */
function shapeDiff(a: unknown, b: unknown, path = "$"): string[] {
  const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
  const ka = kind(a);
  const kb = kind(b);
  if (ka !== kb) return [`${path}: Go ${JSON.stringify(a)} vs TS ${JSON.stringify(b)}`];
  if (ka === "array") {
    const x = a as unknown[];
    const y = b as unknown[];
    const out: string[] = [];
    if (x.length !== y.length) out.push(`${path}: Go has ${x.length} items, TS ${y.length}`);
    for (let i = 0; i < Math.min(x.length, y.length); i++) out.push(...shapeDiff(x[i], y[i], `${path}[${i}]`));
    return out;
  }
  if (ka === "object") {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    const out: string[] = [];
    const kx = Object.keys(x);
    const ky = Object.keys(y);
    if (kx.join(",") !== ky.join(",")) out.push(`${path}: keys Go [${kx.join(",")}] vs TS [${ky.join(",")}]`);
    for (const k of kx) if (k in y) out.push(...shapeDiff(x[k], y[k], `${path}.${k}`));
    return out;
  }
  return [];
}

// ---------------------------------------------------------------- wire capture

interface Recorder {
  address: string;
  request(): Buffer;
  response(): Buffer;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to `target` that keeps every byte each way. */
function recordingProxy(target: string): Promise<Recorder> {
  const i = target.lastIndexOf(":");
  const host = target.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(target.slice(i + 1));
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    client.on("data", (d: Buffer) => {
      up.push(d);
      upstream.write(d);
    });
    upstream.on("data", (d: Buffer) => {
      down.push(d);
      client.write(d);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port: p } = server.address() as { port: number };
      resolve({
        address: `127.0.0.1:${p}`,
        request: () => Buffer.concat(up),
        response: () => Buffer.concat(down),
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise((r) => server.close(() => r()));
        },
      });
    });
  });
}

/** Sends `bytes` to `target` and returns what comes back, once one full HTTP answer arrived (or 3 s passed). */
function replay(target: string, bytes: Buffer): Promise<Buffer> {
  const i = target.lastIndexOf(":");
  const host = target.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(target.slice(i + 1));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect(port, host, () => sock.write(bytes));
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(done, 3_000);
    sock.on("data", (d: Buffer) => {
      chunks.push(d);
      const all = Buffer.concat(chunks);
      const end = all.indexOf("\r\n\r\n");
      if (end < 0) return;
      const len = Number(/\r\nContent-Length: (\d+)/i.exec(all.subarray(0, end).toString("latin1"))?.[1] ?? 0);
      if (all.length >= end + 4 + len) done();
    });
    sock.on("error", done);
  });
}

interface HttpMessage {
  start: string;
  headers: [string, string][];
  body: string;
}

function parseHttp(bytes: Buffer): HttpMessage {
  const text = bytes.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  const head = (end < 0 ? text : text.slice(0, end)).split("\r\n");
  const headers = head.slice(1).map((l): [string, string] => {
    const c = l.indexOf(":");
    return [l.slice(0, c), l.slice(c + 1).trim()];
  });
  return { start: head[0] ?? "", headers, body: end < 0 ? "" : text.slice(end + 4) };
}

function printRaw(label: string, bytes: Buffer): void {
  console.log(`  ${label} (${bytes.length} bytes):`);
  // One line per CRLF-terminated line, escapes visible, so the exact bytes can be read.
  const text = bytes.toString("latin1");
  for (const l of text.split(/(?<=\r\n)/)) console.log(`    ${JSON.stringify(l)}`);
}

/** Header-by-header differences; `ignore` lists headers whose values are expected to differ. */
function httpDiff(goMsg: HttpMessage, tsMsg: HttpMessage, ignore: string[] = []): string[] {
  const out: string[] = [];
  if (goMsg.start !== tsMsg.start) out.push(`start line: Go ${JSON.stringify(goMsg.start)} vs TS ${JSON.stringify(tsMsg.start)}`);
  const names = (m: HttpMessage) => m.headers.map(([n]) => n);
  if (names(goMsg).join(",") !== names(tsMsg).join(",")) out.push(`header order: Go [${names(goMsg).join(", ")}] vs TS [${names(tsMsg).join(", ")}]`);
  const g = new Map(goMsg.headers);
  const t = new Map(tsMsg.headers);
  for (const [n, v] of g) {
    if (!t.has(n)) out.push(`only Go sends ${n}: ${v}`);
    else if (t.get(n) !== v && !ignore.includes(n)) out.push(`${n}: Go ${JSON.stringify(v)} vs TS ${JSON.stringify(t.get(n))}`);
  }
  for (const [n, v] of t) if (!g.has(n)) out.push(`only TS sends ${n}: ${v}`);
  if (goMsg.body !== tsMsg.body) out.push(`body: Go ${JSON.stringify(goMsg.body)} vs TS ${JSON.stringify(tsMsg.body)}`);
  return out;
}

// ---------------------------------------------------------------- etcd checks

async function etcdChecks(): Promise<void> {
  section("etcd");
  const etcd: Etcd = await startEtcd();
  const removeEtcd = () => etcd.remove();
  cleanups.add(removeEtcd);
  const addr = etcd.address;
  console.log(`  etcd ${(await run("etcd", ["--version"])).stdout.split("\n")[0]} on ${addr}`);
  let goSrv: Proc | undefined;
  let tsSrv: Proc | undefined;
  try {
    // 1. Go server, seen and called by micro-ts.
    goSrv = await startGoServer("etcd", addr);
    console.log(`  Go server registered node ${goSrv.nodeId}`);

    const list = await micro("etcd", addr, ["list", "services"]);
    show("micro list services", list);
    check("1a micro list services shows the Go service", list.code === 0 && lines(list.stdout).includes(GO_SERVICE));

    const get = await micro("etcd", addr, ["get", "service", GO_SERVICE]);
    show(`micro get service ${GO_SERVICE}`, get);
    check(
      "1b micro get service shows the Go node, mucp metadata and Say.Hello with its Request/Response",
      get.code === 0 && get.stdout.includes(goSrv.nodeId) && get.stdout.includes("protocol=mucp") &&
        get.stdout.includes("Endpoint: Say.Hello") && /Request: \{\s*name string\s*\}/.test(get.stdout) &&
        /Response: \{\s*msg string\s*\}/.test(get.stdout),
    );

    const call = await micro("etcd", addr, ["call", GO_SERVICE, "Say.Hello", '{"name":"Go"}']);
    show(`micro call ${GO_SERVICE} Say.Hello '{"name":"Go"}'`, call);
    check("1c micro call gets the Go reply", call.code === 0 && (parseJSON(call.stdout) as { msg?: string })?.msg === "Hello Go");

    // An error the Go server sends as plain text (not an error JSON): go-micro's own client for comparison.
    const bad = await micro("etcd", addr, ["call", GO_SERVICE, "Say.Nope", "{}"]);
    show(`micro call ${GO_SERVICE} Say.Nope '{}'`, bad);
    const goBadSelf = await goCli("etcd", addr, ["call", GO_SERVICE, "Say.Nope", "{}"]);
    show(`gogreeter call ${GO_SERVICE} Say.Nope '{}'  (go-micro's client, same call)`, goBadSelf);
    const goText = goBadSelf.stderr.trim().replace(/^error: /, "");
    check("1d an unknown Go method: micro call exits 1 with the Go server's error text", bad.code === 1 && goText !== "" && bad.stderr.includes(goText));

    // 2. TS greeter, seen and called by go-micro.
    tsSrv = await startTsGreeter("etcd", addr);
    console.log(`  TS greeter registered node ${tsSrv.nodeId}`);

    const goList = await goCli("etcd", addr, ["list"]);
    show("gogreeter list", goList);
    check("2a go-micro ListServices shows the TS service (and the Go one)", goList.code === 0 && lines(goList.stdout).includes(TS_SERVICE) && lines(goList.stdout).includes(GO_SERVICE));

    const goCall = await goCli("etcd", addr, ["call", TS_SERVICE, "Say.Hello", '{"name":"TS"}']);
    show(`gogreeter call ${TS_SERVICE} Say.Hello '{"name":"TS"}'`, goCall);
    check("2b go-micro client gets the TS reply", goCall.code === 0 && (parseJSON(goCall.stdout) as { msg?: string })?.msg === "Hello TS");

    const goGet = await goCli("etcd", addr, ["get", TS_SERVICE]);
    show(`gogreeter get ${TS_SERVICE}`, goGet);
    check("2c go-micro GetService decodes the TS node, its metadata and Say.Hello's Request/Response", goSeesTsGreeter(goGet, tsSrv.nodeId));

    const goBad = await goCli("etcd", addr, ["call", TS_SERVICE, "Say.Hello", '{"name":""}']);
    show(`gogreeter call ${TS_SERVICE} Say.Hello '{"name":""}'`, goBad);
    check(
      "2d a micro-ts error reaches go-micro as a go-micro error (id, code 400, detail)",
      goBad.code === 1 && goBad.stderr.includes('"id":"go.micro.srv.greeter"') && goBad.stderr.includes('"code":400') && goBad.stderr.includes("name is required"),
    );

    const goNope = await goCli("etcd", addr, ["call", TS_SERVICE, "Say.Nope", "{}"]);
    show(`gogreeter call ${TS_SERVICE} Say.Nope '{}'`, goNope);
    check("2e an unknown micro-ts method reaches go-micro as a 404 error JSON (a documented difference: Go sends plain text)",
      goNope.code === 1 && goNope.stderr.includes('"code":404') && goNope.stderr.includes("can't find method Nope"));

    // Raw registry values, side by side.
    section("etcd values as stored (raw bytes)");
    const goEntries = await etcdEntries(addr, `/micro/registry/${GO_SERVICE}/`);
    const tsEntries = await etcdEntries(addr, `/micro/registry/${TS_SERVICE}/`);
    for (const e of goEntries) printEntry("Go", e);
    for (const e of tsEntries) printEntry("TS", e);
    const goEntry = goEntries[0];
    const tsEntry = tsEntries[0];
    check("3a one key per node: /micro/registry/<service>/<node id>, each under a lease",
      goEntries.length === 1 && tsEntries.length === 1 &&
        goEntry!.key === `/micro/registry/${GO_SERVICE}/${goSrv.nodeId}` && tsEntry!.key === `/micro/registry/${TS_SERVICE}/${tsSrv.nodeId}` &&
        goEntry!.lease !== "0" && tsEntry!.lease !== "0");
    if (goEntry && tsEntry) {
      const diffs = shapeDiff(parseJSON(goEntry.value.toString()), parseJSON(tsEntry.value.toString()));
      if (diffs.length === 0) console.log("  the two values have the same shape (keys, key order, null/{}/[])");
      for (const d of diffs) console.log(`  NOTE value shape differs: ${d}`);
    }

    // 4. The bytes on the wire, both directions.
    section("mucp on the wire (recorded through a TCP proxy)");
    const goNode = (parseJSON(goEntry?.value.toString() ?? "") as { nodes?: { address: string }[] })?.nodes?.[0]?.address ?? "";
    const tsNode = (parseJSON(tsEntry?.value.toString() ?? "") as { nodes?: { address: string }[] })?.nodes?.[0]?.address ?? "";
    console.log(`  Go node address ${goNode}, TS node address ${tsNode}`);

    const toTs = await recordingProxy(tsNode);
    const viaProxyGo = await goCli("etcd", addr, ["call", TS_SERVICE, "Say.Hello", '{"name":"wire"}'], { env: { GOGREETER_ADDRESS: toTs.address } });
    await toTs.close();
    check("4a go-micro → micro-ts through the proxy", viaProxyGo.code === 0 && viaProxyGo.stdout.includes("Hello wire"), viaProxyGo.stderr);
    printRaw("go-micro client request", toTs.request());
    printRaw("micro-ts server response", toTs.response());

    const toGo = await recordingProxy(goNode);
    const viaProxyTs = await micro("etcd", addr, ["call", "--address", toGo.address, GO_SERVICE, "Say.Hello", '{"name":"wire"}']);
    await toGo.close();
    check("4b micro-ts → go-micro through the proxy", viaProxyTs.code === 0 && viaProxyTs.stdout.includes("Hello wire"), viaProxyTs.stderr);
    printRaw("micro-ts client request", toGo.request());
    printRaw("go-micro server response", toGo.response());

    // The same request bytes to both servers: their answers compared header by header.
    const goReq = toTs.request();
    const tsReq = toGo.request();
    const goAnswerToGoReq = await replay(goNode, goReq);
    const tsAnswerToTsReq = await replay(tsNode, tsReq);
    console.log("  client requests compared (go-micro client vs micro-ts client):");
    for (const d of httpDiff(parseHttp(goReq), parseHttp(tsReq), ["Host", "Micro-Id", "Micro-Service", "Micro-Endpoint", "Micro-Method"])) console.log(`    ${d}`);
    console.log("  server answers to the go-micro client's request (go-micro server vs micro-ts server):");
    const d1 = httpDiff(parseHttp(goAnswerToGoReq), parseHttp(toTs.response()));
    for (const d of d1) console.log(`    ${d}`);
    if (d1.length === 0) console.log("    none");
    check("4c the go-micro client's request: micro-ts answers the same bytes as go-micro", goAnswerToGoReq.equals(toTs.response()));
    console.log("  server answers to the micro-ts client's request (go-micro server vs micro-ts server):");
    const d2 = httpDiff(parseHttp(toGo.response()), parseHttp(tsAnswerToTsReq));
    for (const d of d2) console.log(`    ${d}`);
    if (d2.length === 0) console.log("    none");
    check("4d the micro-ts client's request: micro-ts answers the same bytes as go-micro", tsAnswerToTsReq.equals(toGo.response()));

    // 5. SIGTERM each side: it deregisters before it exits.
    section("SIGTERM");
    const goExit = await goSrv.stop("SIGTERM");
    const afterGo = await micro("etcd", addr, ["list", "services"]);
    show("micro list services (after SIGTERM to the Go server)", afterGo);
    check(`5a the Go server exited (${goExit}) and is gone from micro list services`, afterGo.code === 0 && !lines(afterGo.stdout).includes(GO_SERVICE) && lines(afterGo.stdout).includes(TS_SERVICE));

    const tsExit = await tsSrv.stop("SIGTERM");
    const afterTs = await goCli("etcd", addr, ["list"]);
    show("gogreeter list (after SIGTERM to the TS greeter)", afterTs);
    check(`5b the TS greeter exited (${tsExit}) and is gone from go-micro's list`, afterTs.code === 0 && !lines(afterTs.stdout).includes(TS_SERVICE));
    const left = await etcdEntries(addr, "/micro/registry/");
    check("5c no registry keys left in etcd", left.length === 0, left.map((e) => e.key).join("\n"));
  } catch (err) {
    check("etcd checks ran to the end", false, String((err as Error)?.stack ?? err));
  } finally {
    await goSrv?.stop("SIGKILL");
    await tsSrv?.stop("SIGKILL");
    cleanups.delete(removeEtcd);
    await etcd.remove();
  }
}

// ---------------------------------------------------------------- mDNS

export interface NetnsPair {
  /** netns names, for `ip netns exec` */
  a: string;
  b: string;
  addrA: string;
  addrB: string;
  teardown(): Promise<void>;
}

/**
 * Two network namespaces joined by a veth pair, 10.77.0.1/24 and 10.77.0.2/24,
 * multicast on and 224.0.0.0/4 routed onto the veth: mDNS (224.0.0.251:5353)
 * works between them, which it does not on loopback. Needs root and iproute2.
 * The namespaces hold nothing but the two ends, so the addresses reach nothing else.
 */
export async function setupNetnsPair(tag = String(process.pid)): Promise<NetnsPair> {
  const a = `microts-a-${tag}`;
  const b = `microts-b-${tag}`;
  const va = `mtva${tag}`.slice(0, 15);
  const vb = `mtvb${tag}`.slice(0, 15);
  const steps: string[][] = [
    ["netns", "add", a],
    ["netns", "add", b],
    ["link", "add", va, "type", "veth", "peer", "name", vb],
    ["link", "set", va, "netns", a],
    ["link", "set", vb, "netns", b],
    ["-n", a, "addr", "add", "10.77.0.1/24", "dev", va],
    ["-n", b, "addr", "add", "10.77.0.2/24", "dev", vb],
    ["-n", a, "link", "set", "lo", "up"],
    ["-n", b, "link", "set", "lo", "up"],
    ["-n", a, "link", "set", va, "multicast", "on", "up"],
    ["-n", b, "link", "set", vb, "multicast", "on", "up"],
    ["-n", a, "route", "add", "224.0.0.0/4", "dev", va],
    ["-n", b, "route", "add", "224.0.0.0/4", "dev", vb],
  ];
  const teardown = async () => {
    // Deleting a namespace deletes the veth end in it, and with it the pair.
    await run("ip", ["netns", "del", a]);
    await run("ip", ["netns", "del", b]);
  };
  for (const s of steps) {
    const r = await run("ip", s);
    if (r.code !== 0) {
      await teardown();
      throw new Error(`ip ${s.join(" ")}: ${r.stderr.trim()}`);
    }
  }
  return { a, b, addrA: "10.77.0.1", addrB: "10.77.0.2", teardown };
}

async function mdnsChecks(): Promise<void> {
  section("mDNS (two network namespaces joined by a veth pair)");
  if (process.getuid?.() !== 0) return skip("mDNS", "needs root for ip netns");
  if ((await run("ip", ["-V"])).code !== 0) return skip("mDNS", "needs iproute2 (ip)");
  let ns: NetnsPair;
  try {
    ns = await setupNetnsPair();
  } catch (err) {
    return void check("network namespaces for mDNS", false, String(err));
  }
  const teardown = () => ns.teardown();
  cleanups.add(teardown);
  console.log(`  namespaces ${ns.a} (${ns.addrA}) and ${ns.b} (${ns.addrB})`);
  let goSrv: Proc | undefined;
  let tsSrv: Proc | undefined;
  try {
    goSrv = await startGoServer("mdns", "", ns.a);
    console.log(`  Go server (mdns) in ${ns.a} registered node ${goSrv.nodeId}`);

    // The plumbing itself, with go-micro on both ends.
    const goGo = await goCli("mdns", "", ["list"], { netns: ns.b });
    show(`gogreeter list (mdns, in ${ns.b})`, goGo);
    check("M0 go-micro in one namespace sees go-micro in the other over mDNS (plumbing works)", goGo.code === 0 && lines(goGo.stdout).includes(GO_SERVICE));

    if (!(REGISTRIES as readonly string[]).includes("mdns")) {
      skip("M1-M3 micro-ts over mDNS", `micro-ts has no mdns registry yet (REGISTRIES = ${REGISTRIES.join(", ")})`);
      return;
    }

    const list = await micro("mdns", "", ["list", "services"], ns.b);
    show(`micro list services (mdns, in ${ns.b})`, list);
    check("M1a micro list services (mdns) shows the Go service", list.code === 0 && lines(list.stdout).includes(GO_SERVICE));

    const get = await micro("mdns", "", ["get", "service", GO_SERVICE], ns.b);
    show(`micro get service ${GO_SERVICE} (mdns)`, get);
    check("M1b micro get service (mdns) shows the Go node at 10.77.0.1 and Say.Hello", get.code === 0 && get.stdout.includes(goSrv.nodeId) && get.stdout.includes(ns.addrA) && get.stdout.includes("Endpoint: Say.Hello"));

    const call = await micro("mdns", "", ["call", GO_SERVICE, "Say.Hello", '{"name":"Go"}'], ns.b);
    show(`micro call ${GO_SERVICE} Say.Hello '{"name":"Go"}' (mdns)`, call);
    check("M1c micro call (mdns) gets the Go reply", call.code === 0 && (parseJSON(call.stdout) as { msg?: string })?.msg === "Hello Go");

    tsSrv = await startTsGreeter("mdns", "", ns.b);
    console.log(`  TS greeter (mdns) in ${ns.b} registered node ${tsSrv.nodeId}`);

    const goList = await goCli("mdns", "", ["list"], { netns: ns.a });
    show(`gogreeter list (mdns, in ${ns.a})`, goList);
    check("M2a go-micro ListServices (mdns) shows the TS service", goList.code === 0 && lines(goList.stdout).includes(TS_SERVICE));

    const goCall = await goCli("mdns", "", ["call", TS_SERVICE, "Say.Hello", '{"name":"TS"}'], { netns: ns.a });
    show(`gogreeter call ${TS_SERVICE} Say.Hello '{"name":"TS"}' (mdns)`, goCall);
    check("M2b go-micro client (mdns) gets the TS reply", goCall.code === 0 && (parseJSON(goCall.stdout) as { msg?: string })?.msg === "Hello TS");

    const goGet = await goCli("mdns", "", ["get", TS_SERVICE], { netns: ns.a });
    show(`gogreeter get ${TS_SERVICE} (mdns)`, goGet);
    check("M2c go-micro GetService (mdns) decodes the TS node, its metadata and Say.Hello's Request/Response", goSeesTsGreeter(goGet, tsSrv.nodeId));

    const goExit = await goSrv.stop("SIGTERM");
    const afterGo = await micro("mdns", "", ["list", "services"], ns.b);
    show("micro list services (mdns, after SIGTERM to the Go server)", afterGo);
    check(`M3a the Go server exited (${goExit}) and is gone from micro list services`, afterGo.code === 0 && !lines(afterGo.stdout).includes(GO_SERVICE));

    const tsExit = await tsSrv.stop("SIGTERM");
    const afterTs = await goCli("mdns", "", ["list"], { netns: ns.a });
    show("gogreeter list (mdns, after SIGTERM to the TS greeter)", afterTs);
    check(`M3b the TS greeter exited (${tsExit}) and is gone from go-micro's list`, afterTs.code === 0 && !lines(afterTs.stdout).includes(TS_SERVICE));
  } catch (err) {
    check("mDNS checks ran to the end", false, String((err as Error)?.stack ?? err));
  } finally {
    await goSrv?.stop("SIGKILL");
    await tsSrv?.stop("SIGKILL");
    cleanups.delete(teardown);
    await ns.teardown();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const noMdns = process.argv.includes("--no-mdns");
  if (!(await buildAll())) return 1;
  await etcdChecks();
  if (noMdns) skip("mDNS", "--no-mdns");
  else await mdnsChecks();
  console.log(`\n${passes} passed, ${failures} failed`);
  return failures === 0 ? 0 : 1;
}

const stopAll = async () => {
  for (const p of [...running]) await p.stop("SIGKILL");
  for (const c of [...cleanups]) await c().catch(() => {});
};
process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const code = await main().catch(async (err) => {
    console.error(err);
    return 1;
  });
  await stopAll();
  process.exit(code);
}
