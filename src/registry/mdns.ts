// The mDNS registry: zero-config discovery on one LAN, interoperable with
// upstream's (reference §1.5). Each process answers for the nodes it
// registered on the multicast group (port 5353, shared with SO_REUSEADDR);
// lookups send a query from a fresh socket and gather the answers for a short
// window, as upstream does.
//
// Beyond upstream, a node lives no longer than its record TTL: our nodes
// announce with TTL = the register TTL and re-announce on each renewal, and a
// watch asks again at 80 % and 90 % of an entry's TTL before reporting it gone.
// So a kill -9'd node leaves every watching cache within its TTL.
import { createSocket, type Socket } from "node:dgram";
import { hostname } from "node:os";
import type multicastDns from "multicast-dns";
import type { Packet } from "dns-packet";
import type { RegisterOptions, Registry, Result, Service, WatchOptions, Watcher } from "./registry.js";
import { QueueWatcher } from "./watcher.js";
import { copyService, invalidService, mergeByVersion } from "./services.js";
import {
  DEFAULT_RECORD_TTL, LIST_SERVICE, MDNS_DOMAIN, answers, enumRecord, instanceAddr, instancesOf, listZone, listedName, nodeZone,
  serviceAddr, serviceOf, zoneRecords, complete, type Seen, type Zone,
} from "./mdns-records.js";

// multicast-dns and dns-packet load on first use: processes on another registry never pay for them.
type Modules = { multicastDns: typeof import("multicast-dns"); dnsPacket: typeof import("dns-packet") };
let modules: Promise<Modules> | undefined;
const load = () =>
  (modules ??= Promise.all([import("multicast-dns"), import("dns-packet")]).then(([m, d]) => ({ multicastDns: m.default, dnsPacket: d.default })));

const GROUP = "224.0.0.251";
const MDNS_PORT = 5353;
/** Fractions of the TTL at which a watch asks for an entry again before dropping it. */
const REFRESH_AT = [0.8, 0.9];
const SWEEP_MS = 250;

export interface MdnsRegistryOptions {
  /** The DNS domain; "micro" as upstream (not "local"). */
  domain?: string;
  /** ms a lookup gathers answers: upstream's 100 ms. */
  timeout?: number;
  /** IPv4 address of the interface to use (--registry_address); default: all interfaces, queries by the routing table. */
  interface?: string;
  /** The UDP port of the group: 5353. */
  port?: number;
}

interface Tracked {
  service: Service;
  /** What identifies the content: a change is reported as a new create. */
  signature: string;
  expiresAt: number;
  ttlMs: number;
  /** Index into REFRESH_AT of the next query. */
  stage: number;
}

interface WatchEntry {
  watcher: QueueWatcher;
  service?: string;
}

export class MdnsRegistry implements Registry {
  readonly name = "mdns";
  readonly domain: string;
  readonly #timeout: number;
  readonly #iface: string | undefined;
  readonly #port: number;
  readonly #host: string;
  /** What this process answers for, by instance name: nodes and list entries. */
  readonly #zones = new Map<string, Zone>();
  /** The one-node services behind our node zones, by instance name. */
  readonly #own = new Map<string, Service>();
  #responder: multicastDns.MulticastDNS | undefined;
  #ready: Promise<void> | undefined;
  readonly #watchers = new Set<WatchEntry>();
  /** Nodes the watchers know of, by instance name, while any watch runs. */
  readonly #tracked = new Map<string, Tracked>();
  #sweep: NodeJS.Timeout | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(options: MdnsRegistryOptions = {}) {
    this.domain = (options.domain ?? MDNS_DOMAIN).replace(/^\.+|\.+$/g, "");
    this.#timeout = options.timeout ?? 100;
    this.#iface = options.interface || undefined;
    this.#port = options.port ?? MDNS_PORT;
    // The SRV target, as upstream: this machine's name (only used within one packet, so duplicates do no harm).
    const name = hostname().replace(/\.+$/, "");
    this.#host = /^[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*$/.test(name) ? name : "micro-host";
  }

  // ---- the responder: answers queries for our zones, hears announcements ----

  #start(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("mdns: the registry is closed"));
    if (this.#ready) return this.#ready;
    const ready = load().then(({ multicastDns }) => {
      if (this.#closed) throw new Error("mdns: the registry is closed");
      const responder = multicastDns({ port: this.#port, ip: GROUP, interface: this.#iface, bind: "0.0.0.0", reuseAddr: true, loopback: true });
      this.#responder = responder;
      responder.on("warning", () => {}); // an interface without multicast: expected, nothing to do
      responder.on("query", (query: Packet, rinfo: { address: string; port: number }) => this.#answer(query, rinfo));
      responder.on("response", (packet: Packet) => this.#heard(packet));
      return new Promise<void>((resolve, reject) => {
        responder.once("ready", resolve);
        responder.once("error", (err: Error) => {
          // Let the next call try again; the failed socket is dropped.
          if (this.#responder === responder) this.#responder = undefined;
          responder.destroy();
          reject(new Error(`mdns: cannot listen on UDP port ${this.#port}: ${err.message}`));
        });
        responder.on("error", () => {}); // after start: reported through the calls that fail
      });
    });
    this.#ready = ready;
    ready.catch(() => {
      if (this.#ready === ready) this.#ready = undefined;
    });
    return ready;
  }

  #answer(query: Packet, rinfo: { address: string; port: number }): void {
    if (this.#zones.size === 0) return;
    // A querier on another port (upstream's client) wants the answer sent back to it; port 5353 means multicast.
    const to = rinfo.port === this.#port ? undefined : { address: rinfo.address, port: rinfo.port };
    const enumerated = new Set<string>();
    for (const question of query.questions ?? []) {
      for (const zone of this.#zones.values()) {
        const kind = answers(zone, question);
        if (!kind) continue;
        if (kind === "enum") {
          if (enumerated.has(zone.service) || zone.service === LIST_SERVICE) continue;
          enumerated.add(zone.service);
        }
        // One instance per packet: upstream's client reads one entry per message.
        const records = kind === "enum" ? [enumRecord(zone)] : zoneRecords(zone);
        this.#send({ type: "response", id: to ? query.id : 0, questions: query.questions, answers: records }, to).catch(() => {});
      }
    }
  }

  #send(packet: Packet, to?: { address: string; port: number }): Promise<void> {
    const responder = this.#responder;
    if (!responder) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // respond() marks the packet a response and authoritative; without `to` it goes to the group.
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (to) responder.respond(packet as multicastDns.ResponseOutgoingPacket, to, done);
      else responder.respond(packet as multicastDns.ResponseOutgoingPacket, done);
    });
  }

  #announce(zone: Zone, ttl = zone.ttl): Promise<void> {
    return this.#send({ type: "response", id: 0, answers: zoneRecords(zone, ttl) });
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  // ---- Registry ----

  async register(service: Service, options: RegisterOptions = {}): Promise<void> {
    const problem = invalidService(service);
    if (problem) throw new Error(problem);
    await this.#start();
    const ttl = options.ttl && options.ttl > 0 ? Math.max(1, Math.ceil(options.ttl / 1000)) : DEFAULT_RECORD_TTL;
    let failure: Error | undefined;
    const sends: Promise<void>[] = [];
    for (const node of service.nodes ?? []) {
      let zone: Zone;
      try {
        zone = nodeZone(service, node, this.domain, this.#host, ttl);
      } catch (err) {
        failure ??= err as Error;
        continue;
      }
      const key = instanceAddr(zone);
      const before = this.#zones.get(key);
      this.#zones.set(key, zone);
      const one = copyService(service, [node]);
      this.#own.set(key, one);
      if (before && before.txt.join() === zone.txt.join() && before.port === zone.port && before.ips.join() === zone.ips.join() && before.ttl === zone.ttl) {
        sends.push(this.#announce(zone)); // a renewal: once, so that watchers' TTLs restart
        continue;
      }
      // New or changed: announce twice a second apart (RFC 6762 §8.3), and tell this process's watchers now.
      sends.push(this.#announce(zone));
      this.#later(1000, () => {
        if (this.#zones.get(key) === zone) this.#announce(zone).catch(() => {});
      });
      this.#see(key, one, ttl);
    }
    if (this.#ownNodes(service.name) > 0) {
      const list = listZone(service.name, this.domain, this.#host, ttl);
      const key = instanceAddr(list);
      const before = this.#zones.get(key);
      if (!before || before.ttl < ttl) {
        this.#zones.set(key, list);
        sends.push(this.#announce(list));
      }
    }
    try {
      await Promise.all(sends);
    } catch (err) {
      failure ??= new Error(`mdns register ${service.name}: cannot announce: ${(err as Error).message}`);
    }
    if (failure) throw failure;
  }

  async deregister(service: Service): Promise<void> {
    const problem = invalidService(service);
    if (problem) throw new Error(problem);
    const goodbyes: Promise<void>[] = [];
    for (const node of service.nodes ?? []) {
      const key = `${node.id}.${service.name}.${this.domain}`;
      const zone = this.#zones.get(key);
      if (!zone) continue;
      this.#zones.delete(key);
      const one = this.#own.get(key);
      this.#own.delete(key);
      goodbyes.push(this.#announce(zone, 0));
      if (one) this.#gone(key, one);
    }
    if (this.#ownNodes(service.name) === 0) {
      const key = `${service.name}.${LIST_SERVICE}.${this.domain}`;
      const list = this.#zones.get(key);
      if (list) {
        this.#zones.delete(key);
        goodbyes.push(this.#announce(list, 0));
      }
    }
    // The goodbyes are out before this returns: a stopping service closes its listener only after.
    await Promise.allSettled(goodbyes);
  }

  #ownNodes(name: string): number {
    let n = 0;
    for (const service of this.#own.values()) if (service.name === name) n++;
    return n;
  }

  async getService(name: string): Promise<Service[]> {
    const found: Service[] = [];
    for (const seen of await this.#query(serviceAddr(name, this.domain))) {
      const service = seen.ttl > 0 ? serviceOf(seen, this.domain) : undefined;
      if (service && service.name === name) found.push(service);
    }
    // Our own nodes even where multicast does not loop back.
    for (const service of this.#own.values()) if (service.name === name) found.push(service);
    return mergeByVersion(found);
  }

  /** One entry per service name (mDNS list entries carry no version), sorted. */
  async listServices(): Promise<Service[]> {
    const names = new Set<string>();
    for (const seen of await this.#query(serviceAddr(LIST_SERVICE, this.domain))) {
      const name = listedName(seen, this.domain);
      if (name) names.add(name);
    }
    for (const service of this.#own.values()) names.add(service.name);
    return [...names].sort().map((name) => ({ name, version: "", metadata: null, endpoints: null, nodes: null }));
  }

  /**
   * Sends one PTR query from a fresh socket and gathers complete answers for
   * the timeout; an incomplete answer is followed by a query for that instance.
   */
  #query(name: string, type: "PTR" | "ANY" = "PTR", windowMs = this.#timeout): Promise<Seen[]> {
    if (this.#closed) return Promise.reject(new Error("mdns: the registry is closed"));
    return load().then(({ dnsPacket }) => new Promise<Seen[]>((resolve, reject) => {
      const socket: Socket = createSocket({ type: "udp4" });
      const found = new Map<string, Seen>();
      const followed = new Set<string>();
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.close();
        if (err) reject(err);
        else resolve([...found.values()]);
      };
      const timer = setTimeout(finish, windowMs);
      const ask = (qname: string, type: "PTR" | "ANY") => {
        const packet = dnsPacket.encode({ type: "query", id: 0, flags: 0, questions: [{ name: qname, type: type as "PTR", class: "IN" }] }); // dns-packet knows ANY; its types do not
        socket.send(packet, this.#port, GROUP, (err) => {
          if (err && qname === name) finish(new Error(`mdns: cannot send a query: ${err.message}${hint(err)}`));
        });
      };
      socket.on("error", (err) => finish(new Error(`mdns: ${err.message}`)));
      socket.on("message", (message) => {
        let packet: Packet;
        try {
          packet = dnsPacket.decode(message);
        } catch {
          return; // not DNS: ignored
        }
        if (packet.type !== "response") return;
        const seen = instancesOf(packet);
        this.#track(seen);
        for (const s of seen) {
          if (complete(s)) found.set(s.name, s);
          else if (!followed.has(s.name) && s.ttl > 0 && this.#ours(s.name)) {
            followed.add(s.name);
            ask(s.name, "ANY");
          }
        }
      });
      socket.bind(0, () => {
        try {
          socket.setMulticastTTL(255);
          socket.setMulticastLoopback(true);
          if (this.#iface) socket.setMulticastInterface(this.#iface);
        } catch (err) {
          finish(new Error(`mdns: ${(err as Error).message}`));
          return;
        }
        ask(name, type);
      });
    }));
  }

  // ---- watch ----

  watch(options: WatchOptions = {}): Watcher {
    const entry: WatchEntry = { watcher: undefined as unknown as QueueWatcher, service: options.service };
    entry.watcher = new QueueWatcher(() => {
      this.#watchers.delete(entry);
      if (this.#watchers.size === 0) {
        clearInterval(this.#sweep);
        this.#sweep = undefined;
        this.#tracked.clear();
      }
    });
    if (this.#closed) {
      entry.watcher.fail(new Error("mdns watch: the registry is closed"));
      return entry.watcher;
    }
    this.#watchers.add(entry);
    // Our own nodes are known at once; the rest arrive as they announce or answer.
    for (const [key, service] of this.#own) this.#see(key, service, this.#zones.get(key)?.ttl ?? DEFAULT_RECORD_TTL, entry);
    this.#start().then(
      () => {
        if (this.#watchers.has(entry) && !this.#sweep) {
          this.#sweep = setInterval(() => this.#expire(), SWEEP_MS);
          this.#sweep.unref();
        }
      },
      (err: unknown) => entry.watcher.fail(err),
    );
    return entry.watcher;
  }

  /** A response heard on the group: announcements, goodbyes, multicast answers. */
  #heard(packet: Packet): void {
    if (this.#watchers.size === 0) return;
    const seen = instancesOf(packet);
    this.#track(seen);
    // Something announced only in part: ask for the rest, as upstream's listener does.
    for (const s of seen) if (!complete(s) && s.ttl > 0 && this.#ours(s.name) && !this.#tracked.has(s.name)) this.#query(s.name, "ANY").catch(() => {});
  }

  /** In our domain: other mDNS traffic on the LAN (printers, casts) is never chased. */
  #ours(name: string): boolean {
    return name.endsWith(`.${this.domain}`);
  }

  #track(seen: readonly Seen[]): void {
    if (this.#watchers.size === 0) return;
    for (const s of seen) {
      if (!complete(s)) continue;
      const service = serviceOf(s, this.domain);
      if (!service) continue;
      if (s.ttl === 0) this.#gone(s.name, service);
      else this.#see(s.name, service, s.ttl);
    }
  }

  /** A node is alive for ttl more seconds; watchers hear of it when it is new or changed. */
  #see(key: string, service: Service, ttl: number, only?: WatchEntry): void {
    if (this.#watchers.size === 0) return;
    const signature = JSON.stringify(service);
    const ttlMs = ttl * 1000;
    const known = this.#tracked.get(key);
    this.#tracked.set(key, { service, signature, ttlMs, expiresAt: Date.now() + ttlMs, stage: 0 });
    if (only) return this.#emit({ action: "create", service }, only);
    if (known && known.signature === signature) return;
    // Re-registered under another version: caches merge by version, so the old one must lose the node.
    if (known && known.service.version !== service.version) this.#emit({ action: "delete", service: known.service });
    this.#emit({ action: "create", service });
  }

  #gone(key: string, service: Service): void {
    if (!this.#tracked.delete(key)) return;
    this.#emit({ action: "delete", service });
  }

  #emit(result: Result, only?: WatchEntry): void {
    for (const entry of only ? [only] : this.#watchers) {
      if (entry.service && entry.service !== result.service.name) continue;
      entry.watcher.push({ action: result.action, service: copyService(result.service) });
    }
  }

  /** Asks again for entries near the end of their TTL; drops those that stayed silent. */
  #expire(): void {
    const now = Date.now();
    for (const [key, t] of this.#tracked) {
      if (now >= t.expiresAt) {
        this.#gone(key, t.service);
        continue;
      }
      const at = REFRESH_AT[t.stage];
      if (at !== undefined && now >= t.expiresAt - t.ttlMs * (1 - at)) {
        t.stage++;
        if (this.#zones.has(key)) continue; // our own: renewed by register
        this.#query(key, "ANY", Math.max(this.#timeout, 250)).catch(() => {});
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Goodbyes for whatever is still registered, then the sockets go.
    const goodbyes = [...this.#zones.values()].map((zone) => this.#announce(zone, 0).catch(() => {}));
    await Promise.allSettled(goodbyes);
    this.#closed = true;
    for (const entry of [...this.#watchers]) entry.watcher.stop();
    clearInterval(this.#sweep);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#zones.clear();
    this.#own.clear();
    const responder = this.#responder;
    this.#responder = undefined;
    if (responder) await new Promise<void>((resolve) => responder.destroy(() => resolve()));
  }
}

function hint(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENETUNREACH" || code === "EHOSTUNREACH"
    ? " (no route for multicast: add a default route, or name the interface's IPv4 address with --registry_address)"
    : "";
}
