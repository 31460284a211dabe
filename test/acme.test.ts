// ACME against a real CA: Debian's pebble on loopback validates the listener
// over tls-alpn-01, with a test DNS server leading *.micro.test to 127.0.0.1.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { readFile, stat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { listen, ListenError, type AcmeOptions, type Listener } from "../src/http/listen.js";
import { freePort } from "../bench/ports.js";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { ROOT, startService, stopAll, tempDir } from "./helpers.js";
import { startDns, startPebble } from "./pebble.js";

const DAY = 86_400_000;
const hello = (req: http.IncomingMessage, res: http.ServerResponse) => res.end(`hello ${req.headers.host} ${req.url}`);

interface Seen {
  status: number;
  body: string;
  fingerprint: string;
  names: string;
}

/** GET / over TLS to 127.0.0.1:port with SNI `servername`, trusting only `root`. */
function getVia(port: number, servername: string, root: string, path = "/x"): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername, ca: root, ALPNProtocols: ["http/1.1"] }, () => {
      const peer = socket.getPeerCertificate();
      const req = http.request({ createConnection: () => socket, host: servername, path, headers: { Host: servername } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => {
          socket.destroy();
          resolve({ status: res.statusCode ?? 0, body, fingerprint: peer.fingerprint256, names: peer.subjectaltname ?? "" });
        });
      });
      req.on("error", reject);
      req.end();
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
    socket.on("error", reject);
  });
}

/** The names on the certificate shown for `servername` (none: no SNI), whether or not they match. */
function peerNames(port: number, servername: string | undefined, root: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ...(servername ? { servername } : {}), ca: root, checkServerIdentity: () => undefined }, () => {
      resolve(socket.getPeerCertificate().subjectaltname ?? "");
      socket.destroy();
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error("no handshake within 10 s")));
    socket.on("error", reject);
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, ms: number, why: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${why} within ${ms} ms`);
    await sleep(100);
  }
}

/** A DNS server and a pebble that validates on `port`, removed after the test. */
async function ca(t: { after(fn: () => unknown): void }, port: number, certificateValidityPeriod?: number) {
  const dns = await startDns(["api.micro.test", "web.micro.test"]);
  t.after(() => dns.close());
  const pebble = await startPebble({ tlsPort: port, httpPort: await freePort(), dnsServer: dns.address, ...(certificateValidityPeriod ? { certificateValidityPeriod } : {}) });
  t.after(() => pebble.remove());
  return { dns, pebble };
}

function recorder() {
  const logs: string[] = [];
  return { logs, logger: { info: (m: string) => logs.push(`info ${m}`), warn: (m: string) => logs.push(`warn ${m}`) } };
}

async function storedFingerprint(folder: string, host: string): Promise<string> {
  const pem = await readFile(join(folder, `${host}.pem`), "utf8");
  return new X509Certificate(pem.slice(pem.indexOf("-----BEGIN CERTIFICATE-----"))).fingerprint256;
}

test("ACME with pebble: obtained over tls-alpn-01 before listen() resolves, SNI per host, kept on disk, reused with the CA gone", { timeout: 120_000 }, async (t) => {
  const tmp = await tempDir("micro-acme-");
  t.after(() => tmp.remove());
  const port = await freePort();
  const { dns, pebble } = await ca(t, port);
  const { logs, logger } = recorder();
  const acme: AcmeOptions = { hosts: ["api.micro.test", "web.micro.test"], directoryUrl: pebble.directoryUrl, dir: join(tmp.path, "acme"), caCert: pebble.apiCa, timeout: 60_000 };
  const address = `127.0.0.1:${port}`;
  const open: Listener[] = [];
  t.after(() => Promise.all(open.map((l) => l.close())));

  // 1. First start: nothing stored; both certificates are there when listen() resolves.
  const first = await listen(hello, { address, acme, logger });
  open.push(first);
  assert.equal(first.url, `https://api.micro.test:${port}`);
  assert.ok(dns.asked.includes("api.micro.test") && dns.asked.includes("web.micro.test"), `pebble validated through our DNS: ${dns.asked.join(" ")}`);
  const root = await pebble.root();
  const api = await getVia(port, "api.micro.test", root);
  assert.deepEqual([api.status, api.body, api.names], [200, "hello api.micro.test /x", "DNS:api.micro.test"]);
  const web = await getVia(port, "web.micro.test", root);
  assert.deepEqual([web.status, web.names], [200, "DNS:web.micro.test"]);
  // No name or an unknown one: the first host's certificate (the client then sees the mismatch).
  for (const name of [undefined, "other.micro.test"]) assert.equal(await peerNames(port, name, root), "DNS:api.micro.test");
  assert.match(logs.join("\n"), /info acme: got a certificate for api\.micro\.test, valid until/);
  assert.match(logs.join("\n"), /warn acme: the CA checks each host on port 443/);

  // Stored: one folder per CA, the account key and one key+chain file per host, owner-only.
  const [caFolder] = await readdir(acme.dir!);
  assert.equal(caFolder, `127.0.0.1_${new URL(pebble.directoryUrl).port}_dir`);
  const folder = join(acme.dir!, caFolder!);
  assert.deepEqual((await readdir(folder)).sort(), ["account.key", "api.micro.test.pem", "web.micro.test.pem"]);
  for (const f of await readdir(folder)) assert.equal((await stat(join(folder, f))).mode & 0o777, 0o600, f);
  assert.equal(api.fingerprint, await storedFingerprint(folder, "api.micro.test"));
  assert.equal(web.fingerprint, await storedFingerprint(folder, "web.micro.test"));
  await first.close();

  // 2. Errors are one line and bounded: a host the CA cannot reach.
  await assert.rejects(listen(hello, { address, acme: { ...acme, hosts: ["nowhere.micro.test"] }, logger }), (err: Error) => {
    assert.ok(err instanceof ListenError, err.stack);
    assert.match(err.message, /^acme: no certificate for nowhere\.micro\.test from https:\/\/127\.0\.0\.1:\d+\/dir: .+/);
    assert.ok(!err.message.includes("\n"), err.message);
    return true;
  });

  // An untrusted CA (no caCert, no NODE_EXTRA_CA_CERTS) is told at once, not after acme-client's retries.
  const t0 = Date.now();
  const { caCert: _, ...untrusted } = acme;
  await assert.rejects(listen(hello, { address, acme: { ...untrusted, hosts: ["fresh.micro.test"] }, logger }), /^ListenError: acme: no certificate for fresh\.micro\.test from .*: the CA's HTTPS certificate is not trusted \(\w+\); a test CA needs NODE_EXTRA_CA_CERTS$/);
  assert.ok(Date.now() - t0 < 5_000, `took ${Date.now() - t0} ms`);

  // 3. The CA is gone: a restart serves the stored certificates without asking it.
  await pebble.stop();
  logs.length = 0;
  const offline = await listen(hello, { address, acme, logger });
  open.push(offline);
  const again = await getVia(port, "api.micro.test", root);
  assert.deepEqual([again.status, again.fingerprint], [200, api.fingerprint]);
  assert.equal((await getVia(port, "web.micro.test", root)).fingerprint, web.fingerprint);
  assert.match(logs.join("\n"), /info acme: using the stored certificate for api\.micro\.test, valid until/);
  assert.doesNotMatch(logs.join("\n"), /asking|no certificate/);
  await offline.close();
});

test("ACME with pebble: a stored certificate due for renewal is served at once and replaced in the background", { timeout: 120_000 }, async (t) => {
  const tmp = await tempDir("micro-acme-");
  t.after(() => tmp.remove());
  const port = await freePort();
  // Certificates living 12 s: due when a third of that (4 s) is left, since 30 days is more.
  const { pebble } = await ca(t, port, 12);
  const { logs, logger } = recorder();
  const acme: AcmeOptions = { hosts: ["api.micro.test"], directoryUrl: pebble.directoryUrl, dir: join(tmp.path, "acme"), caCert: pebble.apiCa, timeout: 60_000 };
  const address = `127.0.0.1:${port}`;
  const open: Listener[] = [];
  t.after(() => Promise.all(open.map((l) => l.close())));
  const root = await pebble.root();

  const first = await listen(hello, { address, acme, logger });
  open.push(first);
  const before = await getVia(port, "api.micro.test", root);
  await first.close();

  logs.length = 0;
  const second = await listen(hello, { address, acme, logger });
  open.push(second);
  assert.equal((await getVia(port, "api.micro.test", root)).fingerprint, before.fingerprint, "the stored certificate, at once");
  const renewed = await waitFor(
    async () => {
      const seen = await getVia(port, "api.micro.test", root);
      assert.equal(seen.status, 200);
      return seen.fingerprint !== before.fingerprint ? seen : undefined;
    },
    30_000,
    "no renewed certificate served",
  );
  const [caFolder] = await readdir(acme.dir!);
  assert.equal(renewed.fingerprint, await storedFingerprint(join(acme.dir!, caFolder!), "api.micro.test"));
  // Renewed once, not over and over.
  await sleep(1_500);
  assert.equal(logs.filter((m) => m.startsWith("info acme: got a certificate")).length, 1, logs.join("\n"));
  await second.close();
});

test("micro api as the notes run it with ACME: MICRO_ENABLE_ACME + MICRO_ACME_HOSTS, the greeter over a pebble certificate", async () => {
  const port = await freePort();
  const dns = await startDns(["api.micro.test"]);
  const pebble = await startPebble({ tlsPort: port, httpPort: await freePort(), dnsServer: dns.address });
  const tmp = await tempDir("micro-ts-acme-api-");
  const registry = join(tmp.path, "registry");
  const apiCa = join(tmp.path, "pebble-api.pem");
  await writeFile(apiCa, pebble.apiCa);
  const nodes = await Promise.all([startService("examples/greeter/srv/main.ts", registry), startService("examples/greeter/api/main.ts", registry)]);
  let gateway: ChildProcess | undefined;
  try {
    gateway = spawn(process.execPath, [join(ROOT, "bin/micro.js"), `--registry_address=${registry}`, "api", `--address=127.0.0.1:${port}`], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env, MICRO_LOG_LEVEL: "info",
        MICRO_ENABLE_ACME: "true", MICRO_ACME_HOSTS: "api.micro.test", MICRO_ACME_CA: pebble.directoryUrl, MICRO_ACME_DIR: join(tmp.path, "acme"),
        NODE_EXTRA_CA_CERTS: apiCa, // pebble's own API certificate; production needs nothing here
      },
    });
    let err = "";
    gateway.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    await waitFor(async () => (err.includes("Listening on") ? true : undefined), 60_000, `micro api with ACME did not start:\n${err}`);
    const seen = await getVia(port, "api.micro.test", await pebble.root(), "/greeter/say/hello?name=John");
    assert.equal(seen.status, 200, err);
    assert.equal(seen.body, '{"message":"Hello John"}');
    assert.match(seen.names, /DNS:api\.micro\.test/);
    const exited = new Promise((r) => gateway!.once("exit", r));
    gateway.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    gateway?.kill("SIGKILL");
    await stopAll(nodes);
    await pebble.remove();
    await dns.close();
    await tmp.remove();
  }
});
