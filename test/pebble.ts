// A real ACME server (Debian's pebble) on 127.0.0.1 with free ports, and a
// tiny DNS server it asks, so that the test's host names lead to the
// listener under test. .ci/run installs pebble; openssl makes pebble's own
// HTTPS certificate.
import { spawn, spawnSync, execFileSync, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import https from "node:https";
import { mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dnsPacket from "dns-packet";
import { freePort } from "../bench/ports.js";

if (spawnSync("sh", ["-c", "command -v pebble && command -v openssl"]).status !== 0) {
  throw new Error("these tests need pebble and openssl on PATH: apt-get install pebble openssl (.ci/run does)");
}

export interface Dns {
  /** host:port for pebble's -dnsserver */
  address: string;
  /** Names asked so far, lower case. */
  asked: string[];
  close(): Promise<void>;
}

/** Answers A queries for `names` with 127.0.0.1, other types with no records, unknown names with NXDOMAIN. */
export function startDns(names: string[]): Promise<Dns> {
  const known = new Set(names.map((n) => n.toLowerCase()));
  const asked: string[] = [];
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const q = query.questions?.[0];
    if (!q) return;
    const name = q.name.toLowerCase().replace(/\.$/, "");
    asked.push(name);
    const found = known.has(name);
    const answers: dnsPacket.Answer[] = found && q.type === "A" ? [{ type: "A", name: q.name, ttl: 1, data: "127.0.0.1" }] : [];
    const flags = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (found ? 0 : 3); // rcode 3: NXDOMAIN
    socket.send(dnsPacket.encode({ id: query.id ?? 0, type: "response", flags, questions: [q], answers }), rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      resolve({ address: `127.0.0.1:${port}`, asked, close: () => new Promise<void>((r) => socket.close(() => r())) });
    });
  });
}

export interface Pebble {
  /** The ACME directory URL, https://127.0.0.1:<port>/dir */
  directoryUrl: string;
  /** The CA of pebble's own HTTPS (API and management), to trust for the ACME API. */
  apiCa: Buffer;
  /** The root that issued the certificates of this run (pebble makes a new one each start). */
  root(): Promise<string>;
  stop(): Promise<void>;
  remove(): Promise<void>;
}

export interface PebbleOptions {
  /** Where pebble's validator dials for tls-alpn-01: the listener's port. */
  tlsPort: number;
  /** Where it dials for http-01 (unused by micro-ts, but pebble wants one). */
  httpPort: number;
  /** host:port of the DNS server the validator asks. */
  dnsServer: string;
  /** Seconds the issued certificates live; pebble's default is 5 years. */
  certificateValidityPeriod?: number;
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const dir = await mkdtemp(join(tmpdir(), "micro-pebble-"));
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "api.key", "-out", "api.crt", "-days", "2",
      "-subj", "/CN=pebble", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  const apiCa = await readFile(join(dir, "api.crt"));
  const listenPort = await freePort();
  const managementPort = await freePort();
  await writeFile(
    join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listenPort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: join(dir, "api.crt"),
        privateKey: join(dir, "api.key"),
        httpPort: options.httpPort,
        tlsPort: options.tlsPort,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        ...(options.certificateValidityPeriod ? { certificateValidityPeriod: options.certificateValidityPeriod } : {}),
      },
    }),
  );
  const child: ChildProcess = spawn("pebble", ["-config", join(dir, "pebble.json"), "-dnsserver", options.dnsServer], {
    cwd: dir,
    // No random validation delays, real validation, no rejected nonces: a quick and deterministic CA.
    env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_VA_ALWAYS_VALID: "0", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-8000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));

  const directoryUrl = `https://127.0.0.1:${listenPort}/dir`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pebble exited with ${child.exitCode}: ${out}`);
    try {
      if ((await httpsGet(directoryUrl, apiCa)).includes("newOrder")) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`pebble did not answer within 15 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(t);
  };
  return {
    directoryUrl,
    apiCa,
    root: () => httpsGet(`https://127.0.0.1:${managementPort}/roots/0`, apiCa),
    stop,
    remove: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function httpsGet(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body}`))));
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: no answer within 5 s`)));
    req.on("error", reject);
  });
}
