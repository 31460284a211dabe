// The one listener of the HTTP front doors (micro api, micro web): plain
// HTTP, TLS from files (client certificates for mTLS), or certificates that
// ACME hands out, obtained and renewed here with acme-client. The flags are
// upstream's (reference §5.6); docs/tls.md says what differs and why.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import type { Socket, AddressInfo } from "node:net";
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync, watchFile, unwatchFile, type Stats } from "node:fs";
import { mkdir, readFile, writeFile, rename, chmod } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { isIP } from "node:net";
import type { Client as AcmeClient, Authorization } from "acme-client";
import { ConfigError, type Config } from "../config/config.js";
import { splitHostPort, joinHostPort } from "../util/addr.js";
import { ConnSet, type ExchangeFront } from "./conn.js";

export interface ListenLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Set: clients must present a certificate signed by one of these CAs (mTLS). */
  clientCaFile?: string;
  /** ms between checks of the files for a new certificate (certbot, cert-manager); 0 = never. Default 30 s. */
  reloadInterval?: number;
}

export interface AcmeOptions {
  /** The names to get certificates for, one certificate each; SNI picks. */
  hosts: string[];
  /** ACME directory URL; default Let's Encrypt production, as upstream's autocert. */
  directoryUrl?: string;
  /** Account key and certificates; default defaultAcmeDir(). */
  dir?: string;
  /** Contact for the CA's expiry mails (upstream's autocert sends none). */
  email?: string;
  /** PEM of CAs trusted, beside the system's, for the ACME API's own HTTPS: a test CA such as pebble's. */
  caCert?: string | Buffer;
  /**
   * ms; a certificate is renewed when less than this remains, or a third of its
   * lifetime for certificates that live less than three times this (so a short-lived
   * one is not renewed over and over). Default 30 days: LE's 90-day certificates at 60.
   */
  renewBefore?: number;
  /** ms that the first certificates may take before listen() fails. Default 5 minutes. */
  timeout?: number;
}

export interface ListenOptions {
  /** ":8080", "0.0.0.0:8080", "127.0.0.1:0", "[::1]:0" */
  address: string;
  /** MICRO_ENABLE_TLS with MICRO_TLS_CERT_FILE / MICRO_TLS_KEY_FILE (+ MICRO_TLS_CLIENT_CA_FILE). */
  tls?: TlsFiles;
  /** MICRO_ENABLE_ACME with MICRO_ACME_HOSTS; takes precedence over tls, as upstream. */
  acme?: AcmeOptions;
  logger?: ListenLogger;
  /** ms that close() lets requests in flight finish before it cuts their connections. Default 1 s. */
  closeGrace?: number;
}

export interface Listener {
  server: http.Server | https.Server;
  /** The bound host:port, e.g. "127.0.0.1:41234" or "[::]:8080". */
  address: string;
  /** Where to reach it, e.g. "https://api.example.com:443", "http://localhost:8080". */
  url: string;
  /** Stops accepting, lets requests in flight finish for closeGrace, cuts the rest; resolves when all are gone. */
  close(): Promise<void>;
}

/** A listener that cannot start; its message is one line a user can act on. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ListenError";
  }
}

export const LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";
export const LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

const DAY = 86_400_000;
const quiet: ListenLogger = { info() {}, warn() {} };

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
type Upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

// ---------------------------------------------------------------------------
// From the global flags

/**
 * The listener options that the global flags ask for. Checks what can be
 * checked before listening (files there and readable, key matching the
 * certificate, ACME hosts and CA) and throws a one-line ConfigError otherwise.
 */
export function listenOptions(config: Config, address: string, logger?: ListenLogger): ListenOptions {
  const options: ListenOptions = { address, ...(logger ? { logger } : {}) };
  if (config.enableAcme) {
    const provider = config.acmeProvider.trim().toLowerCase() || "autocert";
    if (provider === "certmagic") {
      throw new ConfigError("--acme_provider certmagic (Cloudflare DNS challenge) is not supported by micro-ts; use autocert (the default)");
    }
    if (provider !== "autocert") throw new ConfigError(`unknown --acme_provider ${JSON.stringify(config.acmeProvider)}: want autocert`);
    const hosts = config.acmeHosts.split(",").map((h) => h.trim()).filter(Boolean).map(checkAcmeHost);
    if (hosts.length === 0) throw new ConfigError("--enable_acme needs --acme_hosts (MICRO_ACME_HOSTS), e.g. api.example.com");
    if (config.enableTls) logger?.warn("acme: --enable_acme takes precedence over --enable_tls; the TLS files are not used");
    options.acme = { hosts: [...new Set(hosts)], directoryUrl: acmeDirectoryUrl(config.acmeCa), dir: config.acmeDir || defaultAcmeDir() };
    return options;
  }
  if (config.enableTls) {
    if (!config.tlsCertFile || !config.tlsKeyFile) {
      throw new ConfigError("--enable_tls needs --tls_cert_file and --tls_key_file (MICRO_TLS_CERT_FILE, MICRO_TLS_KEY_FILE)");
    }
    const files: TlsFiles = { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, ...(config.tlsClientCaFile ? { clientCaFile: config.tlsClientCaFile } : {}) };
    try {
      loadTlsFiles(files);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    options.tls = files;
  }
  return options;
}

/** `${XDG_STATE_HOME or ~/.local/state}/micro/acme`, as the local registry's state folder. */
export function defaultAcmeDir(env: NodeJS.ProcessEnv = process.env): string {
  const state = env["XDG_STATE_HOME"];
  let home: string;
  try {
    home = homedir();
  } catch {
    home = tmpdir();
  }
  return join(state && isAbsolute(state) ? state : join(home, ".local", "state"), "micro", "acme");
}

/** MICRO_ACME_CA: empty or "letsencrypt" → production, "letsencrypt-staging", or an https:// directory URL. */
export function acmeDirectoryUrl(ca: string): string {
  const text = ca.trim();
  if (text === "" || text === "letsencrypt") return LETSENCRYPT;
  if (text === "letsencrypt-staging") return LETSENCRYPT_STAGING;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`invalid --acme_ca ${JSON.stringify(ca)}: want an https:// ACME directory URL, letsencrypt or letsencrypt-staging`);
  }
  if (url.protocol !== "https:") throw new ConfigError(`invalid --acme_ca ${JSON.stringify(ca)}: an ACME directory is served over https://`);
  return url.href;
}

function checkAcmeHost(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (h.startsWith("*.")) throw new ConfigError(`acme host ${JSON.stringify(host)}: wildcard names need a DNS challenge, which micro-ts does not do`);
  if (isIP(h.replace(/^\[|\]$/g, ""))) throw new ConfigError(`acme host ${JSON.stringify(host)}: want a DNS name, not an IP address`);
  const label = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
  if (h.length > 253 || !new RegExp(`^(?:${label}\\.)*${label}$`).test(h)) throw new ConfigError(`acme host ${JSON.stringify(host)} is not a valid DNS name`);
  return h;
}

// ---------------------------------------------------------------------------
// TLS from files

interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** Reads and checks the files; throws a one-line ListenError naming the file and the flag. */
export function loadTlsFiles(files: TlsFiles, logger: ListenLogger = quiet): TlsMaterial {
  const cert = readPem(files.certFile, "certificate file", "--tls_cert_file");
  const key = readPem(files.keyFile, "key file", "--tls_key_file");
  const ca = files.clientCaFile ? readPem(files.clientCaFile, "client CA file", "--tls_client_ca_file") : undefined;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ListenError(`tls: ${files.certFile} holds no PEM certificate`);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch (err) {
    const encrypted = /passphrase|encrypted/i.test((err as Error).message);
    throw new ListenError(`tls: ${files.keyFile} holds no ${encrypted ? "unencrypted " : ""}PEM private key`);
  }
  if (!x509.checkPrivateKey(keyObject)) throw new ListenError(`tls: key ${files.keyFile} does not match certificate ${files.certFile}`);
  if (ca) {
    try {
      new X509Certificate(ca);
    } catch {
      throw new ListenError(`tls: client CA file ${files.clientCaFile} holds no PEM certificate`);
    }
  }
  try {
    tls.createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new ListenError(`tls: ${files.certFile}: ${firstLine(err)}`);
  }
  if (Date.parse(x509.validTo) < Date.now()) logger.warn(`tls: certificate ${files.certFile} expired on ${new Date(x509.validTo).toISOString()}`);
  return { cert, key, ...(ca ? { ca } : {}) };
}

function readPem(path: string, what: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "does not exist" : code === "EACCES" || code === "EPERM" ? "is not readable (permission denied)" : code === "EISDIR" ? "is a folder" : firstLine(err);
    throw new ListenError(`tls: ${what} ${path} ${why} (${flag})`);
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split("\n")[0] ?? "").replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/i, "").trim();
}

// ---------------------------------------------------------------------------
// The listener

/**
 * Listens for `handler` (and `upgrade`) on node:http, or, given `exchanges`,
 * serves each connection on the lean front first (conn.ts), which hands it to
 * node:http at the first request that is not a buffered exchange.
 */
export async function listen(handler: Handler, options: ListenOptions, upgrade?: Upgrade, exchanges?: ExchangeFront): Promise<Listener> {
  const log = options.logger ?? quiet;
  let host: string;
  let port: number;
  try {
    ({ host, port } = splitHostPort(options.address));
  } catch (err) {
    throw new ListenError(`cannot listen on ${JSON.stringify(options.address)}: ${firstLine(err).replace(/^address "[^"]*" /, "")}`);
  }
  const cleanups: (() => void)[] = [];
  let server: http.Server | https.Server;
  let acme: AcmeManager | undefined;
  if (options.acme) {
    acme = new AcmeManager(options.acme, log);
    await acme.load();
    const s = https.createServer({ ALPNProtocols: ["http/1.1"], SNICallback: (name, cb) => acme!.sni(name, cb) }, handler);
    acme.onDefault = (material) => s.setSecureContext(material);
    acme.installDefault();
    answerAlpnChallenges(s, acme);
    cleanups.push(() => acme!.close());
    server = s;
  } else if (options.tls) {
    const files = options.tls;
    const material = loadTlsFiles(files, log);
    const s = https.createServer({ ...material, ALPNProtocols: ["http/1.1"], requestCert: !!material.ca, rejectUnauthorized: !!material.ca }, handler);
    cleanups.push(watchTlsFiles(s, files, log));
    server = s;
  } else {
    server = http.createServer(handler);
  }
  if (upgrade) server.on("upgrade", upgrade);
  const lean = exchanges ? serveExchanges(server, exchanges) : undefined;

  // Every raw connection (also upgraded and TLS ones) so close() can cut what is left.
  const sockets = new Set<Socket>();
  server.prependListener("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, ...(host ? { host } : {}) }, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    for (const c of cleanups) c();
    lean?.drain();
    throw new ListenError(`cannot listen on ${options.address}: ${bindReason(err as NodeJS.ErrnoException, host)}`);
  }

  const bound = server.address() as AddressInfo;
  const address = joinHostPort(bound.address, bound.port);
  const unspecified = bound.address === "::" || bound.address === "0.0.0.0";
  const urlHost = acme ? options.acme!.hosts[0]! : unspecified ? "localhost" : joinHostPort(bound.address, 0).replace(/:0$/, "");
  const url = `${acme || options.tls ? "https" : "http"}://${urlHost}:${bound.port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      for (const c of cleanups) c();
      server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      server.closeIdleConnections();
      lean?.drain();
      const cut = setTimeout(() => {
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      }, options.closeGrace ?? 1_000);
    }));

  if (acme) {
    if (bound.port !== 443) log.warn(`acme: the CA checks each host on port 443 (tls-alpn-01); this listener is on ${address}, so forward port 443 to it`);
    try {
      await acme.start();
    } catch (err) {
      await close();
      throw err;
    }
  }
  return { server, address, url, close };
}

/**
 * Puts the lean front before node:http: the server's own connection listener
 * (on "secureConnection" for TLS) now receives only the connections the lean
 * front hands over. Its timeouts are node:http's, read as they are set.
 */
function serveExchanges(server: http.Server | https.Server, front: ExchangeFront): ConnSet {
  const event = server instanceof https.Server ? "secureConnection" : "connection";
  const toHttp = server.listeners(event) as ((socket: Socket) => void)[];
  server.removeAllListeners(event);
  const set = new ConnSet(front, server, (socket) => {
    for (const l of toHttp) l.call(server, socket);
  });
  server.on(event, (socket: Socket) => set.serve(socket));
  return set;
}

function bindReason(err: NodeJS.ErrnoException, host: string): string {
  switch (err.code) {
    case "EADDRINUSE":
      return "address already in use";
    case "EACCES":
      return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
    case "EADDRNOTAVAIL":
      return `${host} is not an address of this machine`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot resolve ${host}`;
    default:
      return firstLine(err);
  }
}

/** Reloads the certificate when its files change (certbot, cert-manager); a bad new set is logged and the old one kept. */
function watchTlsFiles(server: https.Server, files: TlsFiles, log: ListenLogger): () => void {
  const interval = files.reloadInterval ?? 30_000;
  if (interval <= 0) return () => {};
  const paths = [files.certFile, files.keyFile, ...(files.clientCaFile ? [files.clientCaFile] : [])];
  let timer: NodeJS.Timeout | undefined;
  const reload = () => {
    try {
      const material = loadTlsFiles(files, log);
      server.setSecureContext(material);
      log.info(`tls: reloaded the certificate from ${files.certFile}`);
    } catch (err) {
      log.warn(`${firstLine(err)}; still serving the previous certificate`);
    }
  };
  // A renewal rewrites the certificate and the key one after the other: read them once both have landed.
  const changed = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
    clearTimeout(timer);
    timer = setTimeout(reload, Math.min(1_000, interval));
    timer.unref();
  };
  for (const p of paths) watchFile(p, { interval, persistent: false }, changed);
  return () => {
    clearTimeout(timer);
    for (const p of paths) unwatchFile(p, changed);
  };
}

// ---------------------------------------------------------------------------
// ACME: tls-alpn-01 answered by the same listener

/**
 * A tls-alpn-01 validation (RFC 8737) is a TLS handshake offering only the
 * ALPN protocol "acme-tls/1". node's SNICallback does not see ALPN, so the
 * ClientHello is read here first: a validation is answered with the
 * challenge certificate of its host, anything else goes on to the HTTPS
 * server untouched (the bytes read are put back).
 */
function answerAlpnChallenges(server: https.Server, acme: AcmeManager): void {
  const toTls = server.listeners("connection") as ((socket: Socket) => void)[];
  server.removeAllListeners("connection");
  server.on("connection", (socket: Socket) => {
    let seen = Buffer.alloc(0);
    const onError = () => socket.destroy();
    socket.on("error", onError);
    socket.setTimeout(10_000, () => socket.destroy());
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const hello = parseClientHello(seen);
      if (hello === "more") return;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(seen);
      socket.setTimeout(0);
      if (hello && hello.alpn.includes("acme-tls/1")) {
        const context = acme.challengeContext(hello.serverName);
        if (!context) {
          socket.destroy();
          return;
        }
        const validation = new tls.TLSSocket(socket, { isServer: true, secureContext: context, ALPNProtocols: ["acme-tls/1"] });
        validation.on("error", () => validation.destroy());
        validation.setTimeout(10_000, () => validation.destroy());
        validation.resume();
        return;
      }
      socket.off("error", onError);
      for (const listener of toTls) listener.call(server, socket);
    };
    socket.on("data", onData);
  });
}

interface ClientHello {
  serverName: string;
  alpn: string[];
}

/** The SNI name and ALPN protocols of a TLS ClientHello; "more" when the first record is not complete; null when it is no ClientHello. */
export function parseClientHello(buf: Buffer): ClientHello | "more" | null {
  if (buf.length < 5) return buf.length === 0 || buf[0] === 0x16 ? "more" : null;
  if (buf[0] !== 0x16) return null;
  const recordEnd = 5 + buf.readUInt16BE(3);
  if (buf.length < recordEnd) return recordEnd > 5 + 16_384 + 2048 ? null : "more";
  const hello: ClientHello = { serverName: "", alpn: [] };
  try {
    let p = 5;
    if (buf[p] !== 0x01) return null; // handshake type client_hello
    p += 4 + 2 + 32; // handshake header, client_version, random
    p += 1 + buf[p]!; // session_id
    p += 2 + buf.readUInt16BE(p); // cipher_suites
    p += 1 + buf[p]!; // compression_methods
    if (p + 2 > recordEnd) return hello;
    const extensionsEnd = Math.min(recordEnd, p + 2 + buf.readUInt16BE(p));
    p += 2;
    while (p + 4 <= extensionsEnd) {
      const type = buf.readUInt16BE(p);
      const len = buf.readUInt16BE(p + 2);
      const body = buf.subarray(p + 4, Math.min(p + 4 + len, extensionsEnd));
      p += 4 + len;
      if (type === 0 && body.length >= 5 && body[2] === 0) {
        // server_name: list length, name type 0 (host_name), name length, name
        hello.serverName = body.subarray(5, 5 + body.readUInt16BE(3)).toString("latin1").toLowerCase();
      } else if (type === 16 && body.length >= 2) {
        // application_layer_protocol_negotiation: list length, then length-prefixed names
        for (let q = 2; q < body.length; q += 1 + body[q]!) hello.alpn.push(body.subarray(q + 1, q + 1 + body[q]!).toString("latin1"));
      }
    }
  } catch {
    return null; // truncated inside: let TLS itself refuse it
  }
  return hello;
}

interface HostCert {
  context: tls.SecureContext;
  material: { cert: string; key: string };
  notBefore: number;
  notAfter: number;
}

type AcmeModule = typeof import("acme-client");
// acme-client brings axios, node-forge and @peculiar/x509: loaded on first use.
let acmeModule: Promise<AcmeModule> | undefined;
const loadAcme = () => (acmeModule ??= import("acme-client"));

/**
 * Certificates of the ACME hosts: read from the folder, obtained when
 * missing, renewed in the background, one per host (SNI picks). The folder
 * holds one subfolder per CA (its directory URL as a name), with the account
 * key and a <host>.pem per host (the key, then the chain; 0600).
 */
class AcmeManager {
  readonly hosts: string[];
  readonly directoryUrl: string;
  readonly folder: string;
  private readonly renewBefore: number;
  private readonly certs = new Map<string, HostCert>();
  private readonly obtainedAt = new Map<string, number>();
  private readonly waiting = new Map<string, Promise<HostCert>>();
  private readonly challenges = new Map<string, tls.SecureContext>();
  private readonly stopped = new AbortController();
  private client?: Promise<AcmeClient>;
  private timer?: NodeJS.Timeout;
  private renewing = false;
  onDefault?: (material: { cert: string; key: string }) => void;

  constructor(
    private readonly options: AcmeOptions,
    private readonly log: ListenLogger,
  ) {
    if (options.hosts.length === 0) throw new ListenError("acme: no hosts to get certificates for (MICRO_ACME_HOSTS)");
    try {
      this.hosts = [...new Set(options.hosts.map(checkAcmeHost))];
    } catch (err) {
      throw new ListenError((err as Error).message);
    }
    this.directoryUrl = options.directoryUrl ?? LETSENCRYPT;
    let ca: URL;
    try {
      ca = new URL(this.directoryUrl);
    } catch {
      throw new ListenError(`acme: ${JSON.stringify(this.directoryUrl)} is not an ACME directory URL`);
    }
    this.folder = join(options.dir ?? defaultAcmeDir(), `${ca.host}${ca.pathname}`.replace(/[^a-zA-Z0-9.-]+/g, "_").replace(/_$/, ""));
    this.renewBefore = options.renewBefore ?? 30 * DAY;
  }

  /** Reads the stored certificates; a missing, broken or expired one is left to start(). */
  async load(): Promise<void> {
    try {
      await mkdir(this.folder, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new ListenError(`acme: cannot create ${this.folder}: ${firstLine(err)} (--acme_dir, MICRO_ACME_DIR)`);
    }
    for (const host of this.hosts) {
      let pem: string;
      try {
        pem = await readFile(this.certPath(host), "utf8");
      } catch {
        continue;
      }
      try {
        const cert = toHostCert(host, pem);
        if (cert.notAfter > Date.now()) {
          this.certs.set(host, cert);
          this.log.info(`acme: using the stored certificate for ${host}, valid until ${new Date(cert.notAfter).toISOString()}`);
        }
      } catch (err) {
        this.log.warn(`acme: ignoring ${this.certPath(host)}: ${firstLine(err)}`);
      }
    }
  }

  installDefault(): void {
    const first = this.certs.get(this.hosts[0]!);
    if (first) this.onDefault?.(first.material);
  }

  /** Obtains what is missing (bounded by options.timeout), then keeps renewing in the background. */
  async start(): Promise<void> {
    const missing = this.hosts.filter((h) => !this.certs.has(h));
    if (missing.length > 0) {
      const timeout = this.options.timeout ?? 300_000;
      let timer: NodeJS.Timeout | undefined;
      const all = Promise.all(missing.map((h) => this.obtainOnce(h)));
      all.catch(() => {}); // whichever of the race loses
      try {
        await Promise.race([
          all,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new ListenError(`acme: no certificate for ${missing.join(", ")} from ${this.directoryUrl} within ${Math.round(timeout / 1000)} s`)), timeout);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    }
    this.schedule(0);
  }

  close(): void {
    this.stopped.abort();
    clearTimeout(this.timer);
  }

  sni(servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void {
    const host = servername.toLowerCase();
    const cert = this.certs.get(host);
    if (cert) return cb(null, cert.context);
    const pending = this.waiting.get(host);
    // A handshake during the first issuance waits for it, as autocert's; unknown names get the default (the first host's).
    if (pending) pending.then((c) => cb(null, c.context), (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))));
    else cb(null, undefined);
  }

  challengeContext(servername: string): tls.SecureContext | undefined {
    return this.challenges.get(servername.toLowerCase());
  }

  private certPath(host: string): string {
    return join(this.folder, `${host}.pem`);
  }

  /** One issuance per host at a time; handshakes for the host can wait on it. */
  private obtainOnce(host: string): Promise<HostCert> {
    let p = this.waiting.get(host);
    if (!p) {
      p = this.obtain(host).finally(() => this.waiting.delete(host));
      this.waiting.set(host, p);
    }
    return p;
  }

  private async obtain(host: string): Promise<HostCert> {
    const acme = await loadAcme();
    let pem: string;
    try {
      const client = await this.acmeClient();
      const key = await acme.crypto.createPrivateEcdsaKey();
      const [, csr] = await acme.crypto.createCsr({ commonName: host, altNames: [host] }, key);
      this.log.info(`acme: asking ${this.directoryUrl} for a certificate for ${host}`);
      const chain = await client.auto({
        csr,
        termsOfServiceAgreed: true, // as upstream's autocert.AcceptTOS
        challengePriority: ["tls-alpn-01"],
        skipChallengeVerification: true, // the local check would dial port 443 itself; the CA checks anyway
        challengeCreateFn: async (authz: Authorization, challenge, keyAuthorization: string) => {
          if ((challenge.type as string) !== "tls-alpn-01") throw new Error(`the CA offers no tls-alpn-01 challenge for ${authz.identifier.value}`);
          const [challengeKey, challengeCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
          this.challenges.set(authz.identifier.value.toLowerCase(), tls.createSecureContext({ key: challengeKey, cert: challengeCert }));
        },
        challengeRemoveFn: async (authz: Authorization) => {
          this.challenges.delete(authz.identifier.value.toLowerCase());
        },
      });
      pem = `${key.toString().trim()}\n${chain.trim()}\n`;
    } catch (err) {
      throw new ListenError(`acme: no certificate for ${host} from ${this.directoryUrl}: ${acmeReason(err)}`);
    }
    const cert = toHostCert(host, pem);
    await writeAtomic(this.certPath(host), pem); // kept even when the listener closed meanwhile: the next start uses it
    if (this.stopped.signal.aborted) return cert;
    this.install(host, cert);
    this.log.info(`acme: got a certificate for ${host}, valid until ${new Date(cert.notAfter).toISOString()}`);
    return cert;
  }

  /**
   * When the host's certificate is due for renewal (see AcmeOptions.renewBefore);
   * never sooner than 10 minutes after the last one came, whatever a CA hands out.
   */
  private dueAt(host: string): number {
    const cert = this.certs.get(host);
    if (!cert) return 0;
    const renewAt = cert.notAfter - Math.min(this.renewBefore, (cert.notAfter - cert.notBefore) / 3);
    return Math.max(renewAt, (this.obtainedAt.get(host) ?? 0) + 600_000);
  }

  private install(host: string, cert: HostCert): void {
    this.certs.set(host, cert);
    this.obtainedAt.set(host, Date.now());
    if (host === this.hosts[0]) this.onDefault?.(cert.material);
  }

  /** The account: its key is kept in the folder; the CA finds the account by it (newAccount answers the existing one). */
  private acmeClient(): Promise<AcmeClient> {
    return (this.client ??= (async () => {
      const acme = await loadAcme();
      const keyPath = join(this.folder, "account.key");
      let accountKey: Buffer;
      try {
        accountKey = await readFile(keyPath);
      } catch {
        accountKey = await acme.crypto.createPrivateEcdsaKey();
        await writeAtomic(keyPath, accountKey);
      }
      const agent = this.options.caCert ? new https.Agent({ ca: [...tls.rootCertificates, this.options.caCert.toString()] }) : undefined;
      // acme-client retries a request that got no answer five times over 75 s: an untrusted or
      // unreachable CA is told at once by one plain look at its directory first.
      await probe(this.directoryUrl, agent);
      const client = new acme.Client({ directoryUrl: this.directoryUrl, accountKey, backoffMin: 1_000, backoffMax: 10_000, backoffAttempts: 12 });
      // Every request of this client (not acme-client's shared axios) gets a deadline and, when given, the extra CA;
      // none starts once the listener is closed. (No abort signal: acme-client's axios would retry a cancelled request.)
      const signal = this.stopped.signal;
      const transport = (client as unknown as { http: { request(url: string, method: string, opts?: Record<string, unknown>): Promise<unknown> } }).http;
      const request = transport.request.bind(transport);
      transport.request = (url, method, opts = {}) => {
        if (signal.aborted) return Promise.reject(new Error("the listener was closed"));
        return request(url, method, { ...opts, timeout: 30_000, ...(agent ? { httpsAgent: agent } : {}) });
      };
      // Once, before the hosts' orders run side by side. An existing account is looked up
      // (onlyReturnExisting), not re-registered: a CA may refuse a registration that changes nothing.
      try {
        await client.createAccount({ onlyReturnExisting: true });
      } catch {
        await client.createAccount({ termsOfServiceAgreed: true, ...(this.options.email ? { contact: [`mailto:${this.options.email}`] } : {}) });
      }
      return client;
    })().catch((err: unknown) => {
      this.client = undefined; // the next attempt starts over
      throw err;
    }));
  }

  /** Checks again at the next renewal point, at least every 12 hours; a failed renewal is retried within an hour. */
  private schedule(delay: number): void {
    if (this.stopped.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renewDue(), Math.max(0, Math.min(delay, 12 * 3_600_000)));
    this.timer.unref();
  }

  private async renewDue(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    let failed = false;
    try {
      for (const host of this.hosts) {
        const cert = this.certs.get(host);
        if (this.dueAt(host) > Date.now()) continue;
        if (this.stopped.signal.aborted) return;
        try {
          await this.obtainOnce(host);
        } catch (err) {
          failed = true;
          const left = cert ? `; the current one is valid until ${new Date(cert.notAfter).toISOString()}` : "";
          this.log.warn(`${firstLine(err)}${left}; trying again within the hour`);
        }
      }
    } finally {
      this.renewing = false;
    }
    const next = Math.min(...this.hosts.map((h) => this.dueAt(h))) - Date.now();
    this.schedule(failed ? Math.min(next > 0 ? next : 3_600_000, 3_600_000) : next);
  }
}

function toHostCert(host: string, pem: string): HostCert {
  const key = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/.exec(pem)?.[0];
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!key || !certs) throw new Error("want a private key and a certificate chain");
  const leaf = new X509Certificate(certs[0]!);
  if (!leaf.checkHost(host)) throw new Error(`the certificate is not for ${host}`);
  if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new Error("the key does not match the certificate");
  const material = { cert: `${certs.join("\n")}\n`, key: `${key}\n` };
  return { context: tls.createSecureContext(material), material, notBefore: Date.parse(leaf.validFrom), notAfter: Date.parse(leaf.validTo) };
}

async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  await chmod(tmp, 0o600); // whatever the umask
  await rename(tmp, path);
}

function probe(url: string, agent: https.Agent | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { timeout: 30_000, ...(agent ? { agent } : {}) }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`the directory ${url} answered ${res.statusCode}`));
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ECONNABORTED" })));
    req.on("error", reject);
  });
}

/** One line from acme-client's errors: the CA's problem detail when there is one. */
function acmeReason(err: unknown): string {
  const e = err as { message?: string; code?: string; response?: { data?: { detail?: string } } };
  if (e.response?.data?.detail) return e.response.data.detail;
  if (e.code === "ECONNREFUSED") return "connection refused";
  if (e.code === "ENOTFOUND" || e.code === "EAI_AGAIN") return "cannot resolve the CA's host name";
  if (e.code === "ECONNABORTED") return "no answer within 30 s";
  if (e.code && /CERT|SELF_SIGNED|UNABLE_TO/.test(e.code)) return `the CA's HTTPS certificate is not trusted (${e.code}); a test CA needs NODE_EXTRA_CA_CERTS`;
  return firstLine(err);
}
