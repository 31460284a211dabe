// The etcd registry, in upstream's layout (reference §1.3): one key per node,
// /micro/registry/<service>/<node id>, holding the Service JSON with that one
// node, under a lease of the register TTL that each re-registration renews.
import type { Etcd3, IOptions, Lease, Watcher as EtcdWatcher, IKeyValue } from "etcd3";
import type { RegisterOptions, Registry, Result, Service, WatchOptions, Watcher } from "./registry.js";
import { QueueWatcher } from "./watcher.js";
import { copyService, invalidService, listByNameAndVersion, mergeByVersion } from "./services.js";
import { goJSON } from "../util/gojson.js";
import { withTimeout } from "../util/timeout.js";

export const ETCD_PREFIX = "/micro/registry/";

// etcd3 brings gRPC with it (about 100 ms and 20 MB on import), and cockatiel
// another 11 MB. They are loaded on first use, so processes on another
// registry never pay for them.
type EtcdModule = typeof import("etcd3");
let etcdModule: Promise<EtcdModule> | undefined;
const loadEtcd = () => (etcdModule ??= import("etcd3"));
let backoffModule: Promise<typeof import("cockatiel")> | undefined;
const loadBackoff = () => (backoffModule ??= import("cockatiel"));
const DEFAULT_PORT = 2379;

export interface EtcdRegistryOptions {
  /** --registry_address: "host[:port]", a comma list or an array; port 2379 when missing; http(s):// and user:pass@ accepted. Default 127.0.0.1:2379. */
  address?: string | readonly string[];
  username?: string;
  password?: string;
  /** Talk TLS; `ca` to trust a private CA, `cert`/`key` for client certificates. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** ms each operation may take, as upstream's 5 s default. */
  timeout?: number;
}

/** The node's key: `/` in names and ids becomes `-`, as upstream. */
export function etcdKey(service: string, nodeId: string): string {
  return `${ETCD_PREFIX}${service.replace(/\//g, "-")}/${nodeId.replace(/\//g, "-")}`;
}

export interface EtcdEndpoints {
  /** As etcd3 wants them: with a scheme and a port. */
  hosts: string[];
  username?: string;
  password?: string;
  secure: boolean;
}

/** Parses --registry_address for etcd. Throws with a one-line message on nonsense. */
export function parseEtcdAddress(address: string | readonly string[] | undefined): EtcdEndpoints {
  const list = (typeof address === "string" ? address.split(",") : [...(address ?? [])]).map((a) => a.trim()).filter(Boolean);
  if (list.length === 0) list.push(`127.0.0.1:${DEFAULT_PORT}`);
  const out: EtcdEndpoints = { hosts: [], secure: false };
  for (const entry of list) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `http://${entry}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new Error(`bad etcd address ${JSON.stringify(entry)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`bad etcd address ${JSON.stringify(entry)}: scheme must be http or https`);
    if (url.pathname !== "/" && url.pathname !== "") throw new Error(`bad etcd address ${JSON.stringify(entry)}: no path expected`);
    if (url.protocol === "https:") out.secure = true;
    if (url.username) {
      out.username = decodeURIComponent(url.username);
      out.password = decodeURIComponent(url.password);
    }
    out.hosts.push(`${url.protocol}//${url.hostname}:${url.port || DEFAULT_PORT}`);
  }
  if (out.secure) out.hosts = out.hosts.map((h) => h.replace(/^http:/, "https:"));
  return out;
}

interface Registration {
  lease: Lease | null;
  ttlSeconds: number;
  /** The value last put: an unchanged node only renews its lease (upstream compares a hash). */
  value: string;
}

export class EtcdRegistry implements Registry {
  readonly name = "etcd";
  readonly endpoints: EtcdEndpoints;
  private readonly config: IOptions;
  private client: Promise<{ etcd: Etcd3; mod: EtcdModule }> | undefined;
  private readonly timeout: number;
  private readonly registrations = new Map<string, Registration>();
  private readonly watchers = new Set<QueueWatcher>();
  private closed = false;

  constructor(options: EtcdRegistryOptions = {}) {
    this.endpoints = parseEtcdAddress(options.address);
    this.timeout = options.timeout ?? 5_000;
    const username = options.username ?? this.endpoints.username;
    const password = options.password ?? this.endpoints.password ?? "";
    const config: IOptions = {
      hosts: this.endpoints.hosts,
      dialTimeout: this.timeout,
    };
    if (username) config.auth = { username, password };
    if (options.tls) {
      // https:// alone means TLS with the system's roots (etcd3 does that); tls adds a CA or client certificates.
      config.hosts = this.endpoints.hosts.map((h) => h.replace(/^http:/, "https:"));
      // etcd3's type insists on a root certificate; gRPC takes null for the system's roots.
      config.credentials = { rootCertificate: (options.tls.ca ?? null) as Buffer, certChain: options.tls.cert, privateKey: options.tls.key };
    }
    this.config = config;
  }

  private etcd(): Promise<{ etcd: Etcd3; mod: EtcdModule }> {
    return (this.client ??= Promise.all([loadEtcd(), loadBackoff()]).then(([mod, { ExponentialBackoff }]) => {
      // etcd3 re-opens a broken watch after a backoff timer that close() does not clear; its default of up
      // to 30 s kept a stopping process alive that long after an outage. Capped at 2 s.
      const watchBackoff = new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }).next();
      return { etcd: new mod.Etcd3({ ...this.config, faultHandling: { ...this.config.faultHandling, watchBackoff } }), mod };
    }));
  }

  /** Where this registry talks to, for messages. */
  get where(): string {
    return this.endpoints.hosts.join(",");
  }

  // Every call: bounded in time, and failing with one line that says what and where.
  private async bounded<T>(what: string, start: (etcd: Etcd3, mod: EtcdModule) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`etcd ${what}: the registry is closed`);
    const work = this.etcd().then(({ etcd, mod }) => start(etcd, mod));
    const timedOut = `etcd ${what}: no answer from ${this.where} within ${this.timeout} ms`;
    try {
      return await withTimeout(work, this.timeout, timedOut);
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (message === timedOut) throw err;
      throw new Error(`etcd ${what}: ${shortReason(message)} (${this.where})`, { cause: err });
    }
  }

  async register(service: Service, options: RegisterOptions = {}): Promise<void> {
    const problem = invalidService(service);
    if (problem) throw new Error(problem);
    const ttlSeconds = options.ttl && options.ttl > 0 ? Math.max(1, Math.ceil(options.ttl / 1000)) : 0;
    for (const node of service.nodes ?? []) {
      const key = etcdKey(service.name, node.id);
      await this.bounded(`register ${service.name}`, (etcd, mod) => this.put(etcd, mod, key, goJSON(copyService(service, [node])), ttlSeconds));
    }
  }

  private async put(etcd: Etcd3, mod: EtcdModule, key: string, value: string, ttlSeconds: number): Promise<void> {
    const known = this.registrations.get(key);
    if (ttlSeconds === 0) {
      await etcd.put(key).value(value);
      this.registrations.set(key, { lease: null, ttlSeconds, value });
      return;
    }
    if (known?.lease && known.ttlSeconds === ttlSeconds) {
      try {
        await known.lease.keepaliveOnce();
        if (known.value !== value) {
          await known.lease.put(key).value(value);
          known.value = value;
        }
        return;
      } catch (err) {
        // Expired or revoked (etcd was down longer than the TTL): grant a new one, as upstream.
        if (!(err instanceof mod.EtcdLeaseInvalidError)) throw err;
      }
    }
    const lease = etcd.lease(ttlSeconds, { autoKeepAlive: false });
    lease.on("lost", () => {}); // reported through keepaliveOnce's rejection instead
    await lease.grant();
    await lease.put(key).value(value);
    this.registrations.set(key, { lease, ttlSeconds, value });
  }

  async deregister(service: Service): Promise<void> {
    const problem = invalidService(service);
    if (problem) throw new Error(problem);
    for (const node of service.nodes ?? []) {
      const key = etcdKey(service.name, node.id);
      this.registrations.get(key)?.lease?.release();
      this.registrations.delete(key);
      await this.bounded(`deregister ${service.name}`, (etcd) => etcd.delete().key(key).exec());
    }
  }

  async getService(name: string): Promise<Service[]> {
    const values = await this.bounded(`get ${name}`, (etcd) => etcd.getAll().prefix(`${ETCD_PREFIX}${name.replace(/\//g, "-")}/`).strings());
    return mergeByVersion(decodeAll(Object.values(values)).filter((s) => s.name === name));
  }

  async listServices(): Promise<Service[]> {
    const values = await this.bounded("list", (etcd) => etcd.getAll().prefix(ETCD_PREFIX).strings());
    return listByNameAndVersion(decodeAll(Object.values(values)));
  }

  watch(options: WatchOptions = {}): Watcher {
    let etcdWatcher: EtcdWatcher | undefined;
    let stopped = false;
    const watcher: QueueWatcher = new QueueWatcher(() => {
      stopped = true;
      this.watchers.delete(watcher);
      void etcdWatcher?.cancel().catch(() => {});
    });
    if (this.closed) {
      watcher.fail(new Error("etcd watch: the registry is closed"));
      return watcher;
    }
    this.watchers.add(watcher);
    const prefix = options.service ? `${ETCD_PREFIX}${options.service.replace(/\//g, "-")}/` : ETCD_PREFIX;
    this.bounded("watch", (etcd) => etcd.watch().prefix(prefix).withPreviousKV().create())
      .then((w) => {
        etcdWatcher = w;
        if (stopped) return void w.cancel().catch(() => {});
        w.on("put", (kv, previous) => {
          const service = decode(kv.value.toString());
          if (!service) return;
          // A node re-registered under another version (or a name that maps to the same key): its one key now holds only the new one, so the
          // old one loses the node. Caches merge events by version and would otherwise keep it there for good.
          const before = previous ? decode(previous.value.toString()) : undefined;
          if (before && (before.name !== service.name || before.version !== service.version)) watcher.push({ action: "delete", service: before });
          // A key put for the first time (or again after a delete) is a create, as upstream's IsCreate.
          watcher.push({ action: isCreate(kv) ? "create" : "update", service });
        });
        w.on("delete", (_kv, previous) => {
          const service = previous ? decode(previous.value.toString()) : undefined;
          if (service) watcher.push({ action: "delete", service });
        });
        // etcd3 reconnects by itself and resumes from the last revision; an error that ends the stream ends the watcher.
        w.on("error", (err) => watcher.fail(err));
      })
      .catch((err: unknown) => watcher.fail(err));
    return watcher;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watchers]) w.stop();
    for (const r of this.registrations.values()) r.lease?.release();
    this.registrations.clear();
    // Never loaded when never used; a load in progress finishes and is closed.
    const client = await this.client?.catch(() => undefined);
    client?.etcd.close();
  }
}

// gRPC wraps the socket error in a paragraph: keep the part a person acts on.
function shortReason(message: string): string {
  const connect = /connect (E[A-Z]+ \S+?)\.?(\s|$)/.exec(message);
  if (connect) return `cannot connect: ${connect[1]}`;
  return message.split("\n")[0]!.replace(/^\d+ [A-Z_]+: /, "");
}

function isCreate(kv: IKeyValue): boolean {
  return kv.create_revision === kv.mod_revision;
}

function decode(text: string): Service | undefined {
  try {
    const s = JSON.parse(text) as Service;
    return s && typeof s.name === "string" ? copyService(s) : undefined;
  } catch {
    return undefined; // not ours: skipped, as upstream skips what it cannot decode
  }
}

function decodeAll(texts: Iterable<string>): Service[] {
  const out: Service[] = [];
  for (const t of texts) {
    const s = decode(t);
    if (s) out.push(s);
  }
  return out;
}
