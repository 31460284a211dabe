import type { Registry } from "./registry.js";
import { MemoryRegistry } from "./memory.js";
import { LocalRegistry } from "./local.js";
import { EtcdRegistry } from "./etcd.js";
import { MdnsRegistry } from "./mdns.js";

export * from "./registry.js";
export { MemoryRegistry } from "./memory.js";
export { LocalRegistry, defaultLocalRegistryDir } from "./local.js";
export { CacheRegistry } from "./cache.js";
export { EtcdRegistry, etcdKey, parseEtcdAddress, ETCD_PREFIX, type EtcdRegistryOptions } from "./etcd.js";
export { MdnsRegistry, type MdnsRegistryOptions } from "./mdns.js";

export const REGISTRIES = ["local", "memory", "etcd", "mdns"] as const;

/** The registry named by --registry, at --registry_address. */
export function newRegistry(name: string, address = ""): Registry {
  switch (name) {
    case "local":
      return new LocalRegistry(address ? { dir: address } : {});
    case "memory":
      return new MemoryRegistry();
    case "etcd":
      return new EtcdRegistry({ address });
    case "mdns":
      // Upstream ignores the address for mDNS; here it picks the interface (its IPv4 address).
      return new MdnsRegistry({ interface: address });
    default:
      throw new Error(`unknown registry ${JSON.stringify(name)} (known: ${REGISTRIES.join(", ")})`);
  }
}
