import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { execFileSync } from "node:child_process";
import { randomBytes, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile, mkdir, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { defaultConfig, ConfigError, type Config } from "../config/config.js";
import { listen, listenOptions, parseClientHello, defaultAcmeDir, acmeDirectoryUrl, ListenError, LETSENCRYPT, LETSENCRYPT_STAGING } from "./listen.js";

const hello = (req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { "Content-Type": "text/plain" });
  res.end(`hello ${req.url}`);
};

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "micro-listen-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA (name.crt, name.key) in dir. */
function makeCa(dir: string, name: string): void {
  openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=${name}`);
}

/** A leaf (name.crt, name.key) signed by ca, for localhost and 127.0.0.1. */
function makeLeaf(dir: string, ca: string, name: string, usage: "serverAuth" | "clientAuth" = "serverAuth"): void {
  openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
  const ext = join(dir, `${name}.ext`);
  execFileSync("sh", ["-c", `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=${usage}\\n' > '${ext}'`]);
  openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-set_serial", `0x${randomBytes(8).toString("hex")}`, "-days", "2", "-out", `${name}.crt`, "-extfile", ext);
}

interface Answer {
  status: number;
  body: string;
  alpn: string | false | null;
}

function get(url: string, options: https.RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith("https:") ? https : http;
    const req = mod.get(url, { agent: false, timeout: 5_000, ...options }, (res) => {
      let body = "";
      const alpn = (res.socket as tls.TLSSocket | null)?.alpnProtocol ?? null;
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, alpn }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 5 s")));
    req.on("error", reject);
  });
}

/** The SHA-256 fingerprint of the certificate the listener shows. */
function peerFingerprint(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.setTimeout(5_000, () => s.destroy(new Error("no handshake within 5 s")));
    s.on("error", reject);
  });
}

function config(over: Partial<Config>): Config {
  return { ...defaultConfig(), ...over };
}

function assertOneLine(fn: () => unknown, pattern: RegExp, kind: new (...a: never[]) => Error = ConfigError): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof kind, `${err.name}: ${err.message}`);
    assert.ok(!err.message.includes("\n"), `one line: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test("plain HTTP on 127.0.0.1:0: bound address, url, answers, close", async () => {
  const l = await listen(hello, { address: "127.0.0.1:0" });
  assert.match(l.address, /^127\.0\.0\.1:\d+$/);
  assert.equal(l.url, `http://${l.address}`);
  assert.ok(l.server instanceof http.Server && !(l.server instanceof https.Server));
  const rsp = await get(`${l.url}/x`);
  assert.deepEqual([rsp.status, rsp.body], [200, "hello /x"]);
  await l.close();
  await assert.rejects(get(`${l.url}/x`), /ECONNREFUSED/);
});

test("IPv6 loopback and the unspecified host", async () => {
  const v6 = await listen(hello, { address: "[::1]:0" });
  try {
    assert.match(v6.address, /^\[::1\]:\d+$/);
    assert.equal((await get(`${v6.url}/six`)).body, "hello /six");
  } finally {
    await v6.close();
  }
  const any = await listen(hello, { address: ":0" });
  try {
    assert.match(any.address, /^(\[::\]|0\.0\.0\.0):\d+$/);
    assert.match(any.url, /^http:\/\/localhost:\d+$/);
  } finally {
    await any.close();
  }
});

test("close() cuts keep-alive connections and requests that outlive the grace", async () => {
  let started!: () => void;
  const began = new Promise<void>((r) => (started = r));
  const l = await listen((req, res) => {
    if (req.url === "/slow") {
      started();
      return; // never answers
    }
    hello(req, res);
  }, { address: "127.0.0.1:0", closeGrace: 200 });
  const agent = new http.Agent({ keepAlive: true });
  assert.equal((await get(`${l.url}/a`, { agent })).status, 200); // leaves an idle keep-alive connection
  const slow = get(`${l.url}/slow`);
  slow.catch(() => {});
  await began;
  const t0 = Date.now();
  await l.close();
  assert.ok(Date.now() - t0 < 2_000, `close took ${Date.now() - t0} ms`);
  await assert.rejects(slow, /socket hang up|ECONNRESET/);
  agent.destroy();
});

test("upgrade requests go to the upgrade handler", async () => {
  const l = await listen(hello, { address: "127.0.0.1:0" }, (req, socket) => {
    socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Path: ${req.url}\r\n\r\n`);
  });
  try {
    const status = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${l.url}/ws`, { headers: { Connection: "Upgrade", Upgrade: "echo" }, agent: false });
      req.on("upgrade", (res, socket) => {
        socket.destroy();
        resolve(`${res.statusCode} ${res.headers["x-path"]}`);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, "101 /ws");
  } finally {
    await l.close();
  }
});

test("listen errors are one line: address in use, bad address", async () => {
  const l = await listen(hello, { address: "127.0.0.1:0" });
  try {
    await assert.rejects(listen(hello, { address: l.address }), (err: Error) => {
      assert.ok(err instanceof ListenError);
      assert.equal(err.message, `cannot listen on ${l.address}: address already in use`);
      return true;
    });
  } finally {
    await l.close();
  }
  await assert.rejects(listen(hello, { address: "8080" }), /^ListenError: cannot listen on "8080": has no port$/m);
  await assert.rejects(listen(hello, { address: "127.0.0.1:http" }), /cannot listen on "127.0.0.1:http": has a bad port/);
});

test("TLS: served over https with the CA trusted, ALPN http/1.1, via listenOptions", async (t) => {
  const dir = await tempDir(t);
  makeCa(dir, "ca");
  makeLeaf(dir, "ca", "server");
  const warnings: string[] = [];
  const options = listenOptions(
    config({ enableTls: true, tlsCertFile: join(dir, "server.crt"), tlsKeyFile: join(dir, "server.key") }),
    "127.0.0.1:0",
    { info() {}, warn: (m) => warnings.push(m) },
  );
  assert.deepEqual(options.tls, { certFile: join(dir, "server.crt"), keyFile: join(dir, "server.key") });
  const l = await listen(hello, options);
  try {
    assert.ok(l.server instanceof https.Server);
    assert.match(l.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(join(dir, "ca.crt"));
    const rsp = await get(`${l.url}/tls`, { ca, ALPNProtocols: ["h2", "http/1.1"] } as https.RequestOptions);
    assert.deepEqual([rsp.status, rsp.body, rsp.alpn], [200, "hello /tls", "http/1.1"]);
    await assert.rejects(get(`${l.url}/tls`), /self-signed|unable to (get|verify)/i); // the system roots do not know our CA
    assert.deepEqual(warnings, []);
    // An idle keep-alive TLS connection does not hold close() up.
    const agent = new https.Agent({ keepAlive: true, ca });
    assert.equal((await get(`${l.url}/again`, { agent })).status, 200);
    const t0 = Date.now();
    await l.close();
    assert.ok(Date.now() - t0 < 1_000, `close took ${Date.now() - t0} ms`);
    agent.destroy();
  } finally {
    await l.close();
  }
});

test("TLS with the lean front: exchanges served on it, other requests handed to node:http on the same connection", async (t) => {
  const dir = await tempDir(t);
  makeCa(dir, "ca");
  makeLeaf(dir, "ca", "server");
  const options = listenOptions(config({ enableTls: true, tlsCertFile: join(dir, "server.crt"), tlsKeyFile: join(dir, "server.key") }), "127.0.0.1:0");
  const lean = {
    limits: { maxBytes: 1024, timeoutMs: 5_000, id: "go.test" },
    plan: (_m: string, url: string) => (url === "/lean" ? () => ({ status: 200, headers: ["Content-Type", "text/plain"], body: "lean" }) : undefined),
  };
  const l = await listen(hello, options, undefined, lean);
  try {
    const ca = readFileSync(join(dir, "ca.crt"));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    const sockets = new Set<unknown>();
    const one = (path: string) =>
      new Promise<string>((resolve, reject) => {
        https.get(`${l.url}${path}`, { agent }, (res) => {
          sockets.add(res.socket);
          let body = "";
          res.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => resolve(body));
        }).on("error", reject);
      });
    assert.equal(await one("/lean"), "lean");
    assert.equal(await one("/other"), "hello /other");
    assert.equal(await one("/lean"), "hello /lean", "node:http keeps the connection once it has it");
    assert.equal(sockets.size, 1, "all three on one TLS connection");
    agent.destroy();
  } finally {
    await l.close();
  }
});

test("mTLS: no client certificate → refused; one from the client CA → 200; one from another CA → refused", async (t) => {
  const dir = await tempDir(t);
  makeCa(dir, "ca");
  makeCa(dir, "clients");
  makeCa(dir, "stranger");
  makeLeaf(dir, "ca", "server");
  makeLeaf(dir, "clients", "alice", "clientAuth");
  makeLeaf(dir, "stranger", "mallory", "clientAuth");
  const options = listenOptions(
    config({ enableTls: true, tlsCertFile: join(dir, "server.crt"), tlsKeyFile: join(dir, "server.key"), tlsClientCaFile: join(dir, "clients.crt") }),
    "127.0.0.1:0",
  );
  const l = await listen((req, res) => res.end(`hi ${(req.socket as tls.TLSSocket).getPeerCertificate().subject.CN}`), options);
  try {
    const read = (f: string) => readFileSync(join(dir, f));
    const ca = read("ca.crt");
    await assert.rejects(get(`${l.url}/`, { ca }), /certificate required|handshake failure|ECONNRESET|socket hang up/i);
    const ok = await get(`${l.url}/`, { ca, cert: read("alice.crt"), key: read("alice.key") });
    assert.deepEqual([ok.status, ok.body], [200, "hi alice"]);
    await assert.rejects(get(`${l.url}/`, { ca, cert: read("mallory.crt"), key: read("mallory.key") }), /unknown ca|certificate|ECONNRESET|socket hang up/i);
  } finally {
    await l.close();
  }
});

test("TLS files are reloaded when they change; a bad new set keeps the old one", async (t) => {
  const dir = await tempDir(t);
  makeCa(dir, "ca");
  makeLeaf(dir, "ca", "one");
  makeLeaf(dir, "ca", "two");
  await copyFile(join(dir, "one.crt"), join(dir, "server.crt"));
  await copyFile(join(dir, "one.key"), join(dir, "server.key"));
  const logs: string[] = [];
  const l = await listen(hello, {
    address: "127.0.0.1:0",
    tls: { certFile: join(dir, "server.crt"), keyFile: join(dir, "server.key"), reloadInterval: 50 },
    logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
  });
  try {
    const ca = readFileSync(join(dir, "ca.crt"));
    const port = (l.server.address() as net.AddressInfo).port;
    const first = await peerFingerprint(port, ca);
    const fingerprintOf = (f: string) => new X509Certificate(readFileSync(join(dir, f))).fingerprint256;
    assert.equal(first, fingerprintOf("one.crt"));
    // Half a renewal (a new certificate, the old key) is not taken.
    await copyFile(join(dir, "two.crt"), join(dir, "server.crt"));
    await waitFor(() => logs.some((m) => /does not match.*still serving the previous certificate/.test(m)), 5_000, "no warning about the half-written pair");
    assert.equal(await peerFingerprint(port, ca), first);
    await copyFile(join(dir, "two.key"), join(dir, "server.key"));
    await waitFor(() => logs.some((m) => m.startsWith("tls: reloaded")), 5_000, "no reload");
    assert.equal(await peerFingerprint(port, ca), fingerprintOf("two.crt"));
  } finally {
    await l.close();
  }
});

test("listenOptions: one-line errors a user can act on", async (t) => {
  const dir = await tempDir(t);
  makeCa(dir, "ca");
  makeLeaf(dir, "ca", "server");
  makeLeaf(dir, "ca", "other");
  await writeFile(join(dir, "garbage.pem"), "not a pem\n");
  await mkdir(join(dir, "folder.key"));
  const tlsCfg = (over: Partial<Config>) => config({ enableTls: true, tlsCertFile: join(dir, "server.crt"), tlsKeyFile: join(dir, "server.key"), ...over });
  assertOneLine(() => listenOptions(config({ enableTls: true }), ":8080"), /^--enable_tls needs --tls_cert_file and --tls_key_file \(MICRO_TLS_CERT_FILE, MICRO_TLS_KEY_FILE\)$/);
  assertOneLine(() => listenOptions(tlsCfg({ tlsCertFile: join(dir, "missing.crt") }), ":8080"), /^tls: certificate file .*missing\.crt does not exist \(--tls_cert_file\)$/);
  assertOneLine(() => listenOptions(tlsCfg({ tlsKeyFile: join(dir, "folder.key") }), ":8080"), /^tls: key file .*folder\.key is a folder \(--tls_key_file\)$/);
  assertOneLine(() => listenOptions(tlsCfg({ tlsKeyFile: join(dir, "garbage.pem") }), ":8080"), /^tls: .*garbage\.pem holds no PEM private key$/);
  assertOneLine(() => listenOptions(tlsCfg({ tlsCertFile: join(dir, "garbage.pem") }), ":8080"), /^tls: .*garbage\.pem holds no PEM certificate$/);
  assertOneLine(() => listenOptions(tlsCfg({ tlsKeyFile: join(dir, "other.key") }), ":8080"), /^tls: key .*other\.key does not match certificate .*server\.crt$/);
  assertOneLine(() => listenOptions(tlsCfg({ tlsClientCaFile: join(dir, "nope.crt") }), ":8080"), /^tls: client CA file .*nope\.crt does not exist \(--tls_client_ca_file\)$/);
  assertOneLine(() => listenOptions(tlsCfg({ tlsClientCaFile: join(dir, "garbage.pem") }), ":8080"), /^tls: client CA file .*garbage\.pem holds no PEM certificate$/);
  if (process.getuid?.() !== 0) {
    // root reads anything: the permission case can only be seen as another user
    execFileSync("chmod", ["000", join(dir, "other.key")]);
    assertOneLine(() => listenOptions(tlsCfg({ tlsKeyFile: join(dir, "other.key") }), ":8080"), /is not readable \(permission denied\)/);
  }
  // listen() checks the same when given files directly
  await assert.rejects(listen(hello, { address: "127.0.0.1:0", tls: { certFile: join(dir, "missing.crt"), keyFile: join(dir, "server.key") } }), ListenError);

  assertOneLine(() => listenOptions(config({ enableAcme: true }), ":443"), /^--enable_acme needs --acme_hosts \(MICRO_ACME_HOSTS\), e\.g\. api\.example\.com$/);
  assertOneLine(() => listenOptions(config({ enableAcme: true, acmeHosts: " , " }), ":443"), /needs --acme_hosts/);
  assertOneLine(() => listenOptions(config({ enableAcme: true, acmeHosts: "a.example.com", acmeProvider: "letsencrypt" }), ":443"), /^unknown --acme_provider "letsencrypt": want autocert$/);
  assertOneLine(() => listenOptions(config({ enableAcme: true, acmeHosts: "a.example.com", acmeProvider: "certmagic" }), ":443"), /certmagic .*not supported/);
  assertOneLine(() => listenOptions(config({ enableAcme: true, acmeHosts: "*.example.com" }), ":443"), /wildcard/);
  assertOneLine(() => listenOptions(config({ enableAcme: true, acmeHosts: "10.0.0.1" }), ":443"), /not an IP address/);
  assertOneLine(() => listenOptions(config({ enableAcme: true, acmeHosts: "bad_host.example.com" }), ":443"), /not a valid DNS name/);
  assertOneLine(() => listenOptions(config({ enableAcme: true, acmeHosts: "a.example.com", acmeCa: "http://ca.example.com/dir" }), ":443"), /served over https/);
  assertOneLine(() => listenOptions(config({ enableAcme: true, acmeHosts: "a.example.com", acmeCa: "pebble" }), ":443"), /invalid --acme_ca "pebble"/);
});

test("listenOptions: ACME takes precedence over TLS; hosts, CA and folder from the flags", () => {
  const warnings: string[] = [];
  const logger = { info() {}, warn: (m: string) => warnings.push(m) };
  const options = listenOptions(
    config({ enableAcme: true, acmeHosts: "API.example.com, web.example.com,api.example.com.", enableTls: true, tlsCertFile: "/nonexistent" }),
    ":443",
    logger,
  );
  assert.equal(options.tls, undefined);
  assert.deepEqual(options.acme, { hosts: ["api.example.com", "web.example.com"], directoryUrl: LETSENCRYPT, dir: defaultAcmeDir() });
  assert.match(warnings.join("\n"), /takes precedence over --enable_tls/);
  const staged = listenOptions(config({ enableAcme: true, acmeHosts: "a.example.com", acmeCa: "letsencrypt-staging", acmeDir: "/srv/acme", acmeProvider: "autocert" }), ":443");
  assert.deepEqual(staged.acme, { hosts: ["a.example.com"], directoryUrl: LETSENCRYPT_STAGING, dir: "/srv/acme" });
  assert.equal(acmeDirectoryUrl("https://127.0.0.1:14000/dir"), "https://127.0.0.1:14000/dir");
  assert.deepEqual(listenOptions(config({}), ":8080"), { address: ":8080" });
});

test("defaultAcmeDir follows XDG_STATE_HOME, else ~/.local/state", () => {
  assert.equal(defaultAcmeDir({ XDG_STATE_HOME: "/srv/state" }), "/srv/state/micro/acme");
  assert.match(defaultAcmeDir({ XDG_STATE_HOME: "relative" }), /\/\.local\/state\/micro\/acme$/);
  assert.match(defaultAcmeDir({}), /\/\.local\/state\/micro\/acme$/);
});

test("parseClientHello reads SNI and ALPN from a real ClientHello, and waits for a whole record", async () => {
  const hello = await new Promise<Buffer>((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        resolve(chunk);
        socket.destroy();
        server.close();
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      const c = tls.connect({ host: "127.0.0.1", port, servername: "Api.Micro.Test", ALPNProtocols: ["acme-tls/1"] });
      c.on("error", () => {});
    });
    server.on("error", reject);
  });
  assert.deepEqual(parseClientHello(hello), { serverName: "api.micro.test", alpn: ["acme-tls/1"] });
  assert.equal(parseClientHello(hello.subarray(0, 3)), "more");
  assert.equal(parseClientHello(hello.subarray(0, hello.length - 1)), "more");
  assert.equal(parseClientHello(Buffer.from("GET / HTTP/1.1\r\n\r\n")), null);
});

async function waitFor(check: () => boolean, ms: number, why: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${why} within ${ms} ms`);
    await sleep(25);
  }
}

