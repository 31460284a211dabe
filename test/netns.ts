// A small LAN of network namespaces for the tests that need multicast, which
// loopback does not carry: one namespace holds a bridge, and each "host" is a
// namespace with an eth0 joined to it by a veth pair, an address 10.x.y.N/24 and
// a default route on eth0. Needs root (CI runs as root) and iproute2.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface Host {
  /** The namespace name, for `ip netns exec`. */
  ns: string;
  ip: string;
  /** argv prefix that runs a command inside this host. */
  exec(command: string, ...args: string[]): string[];
}

export interface Lan {
  hosts: Host[];
  /** Cuts a host off the LAN (its link goes down), as a pulled cable. */
  unplug(host: Host): void;
  remove(): void;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export function netnsAvailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root for ip netns (CI runs as root)";
  if (spawnSync("ip", ["-V"]).status !== 0) return "needs iproute2 (apt-get install iproute2; .ci/run does)";
  return undefined;
}

/** A LAN of `count` hosts; remove() deletes every namespace it made. */
export function createLan(count: number): Lan {
  const why = netnsAvailable();
  if (why) throw new Error(`the mDNS tests ${why}`);
  const id = randomBytes(3).toString("hex");
  const lan = `mts${id}-lan`;
  const subnet = `10.${100 + (parseInt(id.slice(0, 2), 16) % 100)}.${parseInt(id.slice(2, 4), 16)}`;
  const made: string[] = [];
  const remove = () => {
    for (const ns of made.reverse()) spawnSync("ip", ["netns", "del", ns]);
    made.length = 0;
  };
  try {
    ip("netns", "add", lan);
    made.push(lan);
    ip("-n", lan, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
    ip("-n", lan, "link", "set", "br0", "up");
    const hosts: Host[] = [];
    for (let i = 1; i <= count; i++) {
      const ns = `mts${id}-h${i}`;
      ip("netns", "add", ns);
      made.push(ns);
      ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", `h${i}`, "netns", lan);
      ip("-n", lan, "link", "set", `h${i}`, "master", "br0", "up");
      const address = `${subnet}.${i}`;
      ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "route", "add", "default", "dev", "eth0");
      hosts.push({ ns, ip: address, exec: (command, ...args) => ["ip", "netns", "exec", ns, command, ...args] });
    }
    return {
      hosts,
      unplug: (host) => ip("-n", host.ns, "link", "set", "eth0", "down"),
      remove,
    };
  } catch (err) {
    remove();
    throw new Error(`cannot build the test LAN: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}`);
  }
}
