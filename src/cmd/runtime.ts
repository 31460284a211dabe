// What every CLI command needs: the resolved global flags, a registry and a
// client, with a bound on how long the registry may take to answer.
import { FLAGS, convert, defaultConfig, type Config } from "../config/config.js";
import { newRegistry, type Registry } from "../registry/index.js";
import { Client } from "../client/client.js";
import { withTimeout } from "../util/timeout.js";

export interface Runtime {
  config: Config;
  registry: Registry;
  client: Client;
}

/** Global options as commander parsed them (flag names with underscores). */
export type GlobalOptions = Record<string, string | string[] | undefined>;

export function configFrom(opts: GlobalOptions): Config {
  const config = defaultConfig();
  for (const flag of FLAGS) {
    const v = opts[flag.name];
    if (v !== undefined) (config as unknown as Record<string, unknown>)[flag.key] = convert(flag, v);
  }
  return config;
}

export function newRuntime(opts: GlobalOptions): Runtime {
  const config = configFrom(opts);
  const registry = newRegistry(config.registry, config.registryAddress);
  const client = new Client({
    registry,
    retries: config.clientRetries,
    timeout: config.clientRequestTimeout,
    strategy: config.selectorStrategy,
    poolSize: config.clientPoolSize,
    poolTTL: config.clientPoolTTL,
  });
  return { config, registry, client };
}

export async function closeRuntime(rt: Runtime): Promise<void> {
  rt.client.close();
  await rt.registry.close();
}

/** A registry call that gives up with a clear message instead of hanging. */
export function bounded<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  return withTimeout(work, ms, `${what}: no answer within ${ms} ms`);
}
