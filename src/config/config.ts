// One table of flags ⇄ MICRO_* variables ⇄ options, shared by the micro CLI
// and by services, so both accept the same names as upstream (reference §7.1).
import { parseArgs } from "node:util";
import { parseDuration } from "../util/duration.js";

export interface Config {
  registry: string;
  registryAddress: string;
  /** ms */
  registerTTL: number;
  /** ms */
  registerInterval: number;
  clientRetries: number;
  /** ms */
  clientRequestTimeout: number;
  clientPoolSize: number;
  /** ms */
  clientPoolTTL: number;
  selectorStrategy: "random" | "roundrobin";
  /** --selector: cache (and upstream's default/registry) all mean the watched registry cache, which is what micro-ts always uses. */
  selector: string;
  serverName: string;
  serverVersion: string;
  serverId: string;
  serverAddress: string;
  serverAdvertise: string;
  serverMetadata: Record<string, string>;
  // The gateways (micro api, micro web) and their listeners; services accept and ignore these, as upstream.
  apiAddress: string;
  apiHandler: string;
  apiNamespace: string;
  webAddress: string;
  webNamespace: string;
  /** MICRO_NAMESPACE: read as the api namespace when nothing more specific is set (the seed's v1 usage). */
  namespace: string;
  enableTls: boolean;
  tlsCertFile: string;
  tlsKeyFile: string;
  tlsClientCaFile: string;
  enableAcme: boolean;
  acmeHosts: string;
  acmeProvider: string;
  /** ACME directory URL (ours: upstream has Let's Encrypt built in). */
  acmeCa: string;
  /** Where ACME keys and certificates are kept (ours). */
  acmeDir: string;
}

type Kind = "string" | "int" | "seconds" | "duration" | "list" | "strategy" | "bool" | "selector";

export interface Flag {
  name: string;
  env: string;
  key: keyof Config;
  kind: Kind;
  help: string;
}

/** The global flags; names and variables as upstream, defaults as ARCHITECTURE.md. */
export const FLAGS: readonly Flag[] = [
  { name: "registry", env: "MICRO_REGISTRY", key: "registry", kind: "string", help: "Registry for discovery: local, etcd, mdns, memory (default local)" },
  { name: "registry_address", env: "MICRO_REGISTRY_ADDRESS", key: "registryAddress", kind: "string", help: "Registry address; for local, the state folder" },
  { name: "register_ttl", env: "MICRO_REGISTER_TTL", key: "registerTTL", kind: "seconds", help: "Register TTL in seconds (default 60)" },
  { name: "register_interval", env: "MICRO_REGISTER_INTERVAL", key: "registerInterval", kind: "seconds", help: "Register interval in seconds (default 30)" },
  { name: "client_retries", env: "MICRO_CLIENT_RETRIES", key: "clientRetries", kind: "int", help: "Number of retries (default 1)" },
  { name: "client_request_timeout", env: "MICRO_CLIENT_REQUEST_TIMEOUT", key: "clientRequestTimeout", kind: "duration", help: "Request timeout, e.g. 500ms, 5s, 1m (default 5s)" },
  { name: "client_pool_size", env: "MICRO_CLIENT_POOL_SIZE", key: "clientPoolSize", kind: "int", help: "Connections per node (default 100)" },
  { name: "client_pool_ttl", env: "MICRO_CLIENT_POOL_TTL", key: "clientPoolTTL", kind: "duration", help: "Idle connection lifetime, e.g. 1m (default 1m)" },
  { name: "selector_strategy", env: "MICRO_SELECTOR_STRATEGY", key: "selectorStrategy", kind: "strategy", help: "Node selection: random or roundrobin (default random)" },
  { name: "selector", env: "MICRO_SELECTOR", key: "selector", kind: "selector", help: "Selector used to pick nodes: cache (default; also default, registry)" },
  { name: "server_name", env: "MICRO_SERVER_NAME", key: "serverName", kind: "string", help: "Name of the server, e.g. go.micro.srv.example" },
  { name: "server_version", env: "MICRO_SERVER_VERSION", key: "serverVersion", kind: "string", help: "Version of the server (default latest)" },
  { name: "server_id", env: "MICRO_SERVER_ID", key: "serverId", kind: "string", help: "Id of the server (default a UUID)" },
  { name: "server_address", env: "MICRO_SERVER_ADDRESS", key: "serverAddress", kind: "string", help: "Bind address for the server, e.g. 127.0.0.1:8080 (default :0)" },
  { name: "server_advertise", env: "MICRO_SERVER_ADVERTISE", key: "serverAdvertise", kind: "string", help: "Address to advertise for discovery" },
  { name: "server_metadata", env: "MICRO_SERVER_METADATA", key: "serverMetadata", kind: "list", help: "Metadata for the node as key=value; repeat or comma-separate" },
  { name: "api_address", env: "MICRO_API_ADDRESS", key: "apiAddress", kind: "string", help: "Set the api address e.g 0.0.0.0:8080" },
  { name: "api_handler", env: "MICRO_API_HANDLER", key: "apiHandler", kind: "string", help: "Specify the request handler to be used for mapping HTTP requests to services; {api, event, http, rpc}" },
  { name: "api_namespace", env: "MICRO_API_NAMESPACE", key: "apiNamespace", kind: "string", help: "Set the namespace used by the API e.g. com.example.api" },
  { name: "web_address", env: "MICRO_WEB_ADDRESS", key: "webAddress", kind: "string", help: "Set the web UI address e.g 0.0.0.0:8082" },
  { name: "web_namespace", env: "MICRO_WEB_NAMESPACE", key: "webNamespace", kind: "string", help: "Set the namespace used by the Web proxy e.g. com.example.web" },
  { name: "namespace", env: "MICRO_NAMESPACE", key: "namespace", kind: "string", help: "Namespace the api uses when no api namespace is set, e.g. com.example.api" },
  { name: "enable_tls", env: "MICRO_ENABLE_TLS", key: "enableTls", kind: "bool", help: "Enable TLS support. Expects cert and key file to be specified" },
  { name: "tls_cert_file", env: "MICRO_TLS_CERT_FILE", key: "tlsCertFile", kind: "string", help: "TLS Certificate file" },
  { name: "tls_key_file", env: "MICRO_TLS_KEY_FILE", key: "tlsKeyFile", kind: "string", help: "TLS Key file" },
  { name: "tls_client_ca_file", env: "MICRO_TLS_CLIENT_CA_FILE", key: "tlsClientCaFile", kind: "string", help: "TLS CA file to verify clients against (turns on client certificates)" },
  { name: "enable_acme", env: "MICRO_ENABLE_ACME", key: "enableAcme", kind: "bool", help: "Enables ACME support via Let's Encrypt. ACME hosts should also be specified." },
  { name: "acme_hosts", env: "MICRO_ACME_HOSTS", key: "acmeHosts", kind: "string", help: "Comma separated list of hostnames to manage ACME certs for" },
  { name: "acme_provider", env: "MICRO_ACME_PROVIDER", key: "acmeProvider", kind: "string", help: "The provider that will be used to communicate with Let's Encrypt. Valid options: autocert" },
  { name: "acme_ca", env: "MICRO_ACME_CA", key: "acmeCa", kind: "string", help: "ACME directory URL (default Let's Encrypt)" },
  { name: "acme_dir", env: "MICRO_ACME_DIR", key: "acmeDir", kind: "string", help: "Folder for ACME account keys and certificates (default $XDG_STATE_HOME/micro/acme)" },
];

export function defaultConfig(): Config {
  return {
    registry: "local",
    registryAddress: "",
    registerTTL: 60_000,
    registerInterval: 30_000,
    clientRetries: 1,
    clientRequestTimeout: 5_000,
    clientPoolSize: 100,
    clientPoolTTL: 60_000,
    selectorStrategy: "random",
    selector: "cache",
    serverName: "",
    serverVersion: "",
    serverId: "",
    serverAddress: ":0",
    serverAdvertise: "",
    serverMetadata: {},
    apiAddress: "",
    apiHandler: "",
    apiNamespace: "",
    webAddress: "",
    webNamespace: "",
    namespace: "",
    enableTls: false,
    tlsCertFile: "",
    tlsKeyFile: "",
    tlsClientCaFile: "",
    enableAcme: false,
    acmeHosts: "",
    acmeProvider: "",
    acmeCa: "",
    acmeDir: "",
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Converts one flag's text (or texts, for lists) to its option value. */
export function convert(flag: Flag, raw: string | string[]): Config[keyof Config] {
  const texts = Array.isArray(raw) ? raw : [raw];
  const text = texts[texts.length - 1] ?? "";
  const fail = (why: string) => new ConfigError(`invalid value ${JSON.stringify(text)} for --${flag.name}: ${why}`);
  switch (flag.kind) {
    case "string":
      return text;
    case "int":
    case "seconds": {
      if (!/^-?\d+$/.test(text.trim())) throw fail("want a whole number");
      const n = Number(text);
      if (n < 0) throw fail("must not be negative");
      return flag.kind === "seconds" ? n * 1000 : n;
    }
    case "duration":
      try {
        return parseDuration(text, "s");
      } catch {
        throw fail("want a duration such as 500ms, 5s or 1m");
      }
    case "selector": {
      const v = text.trim().toLowerCase();
      if (v !== "cache" && v !== "default" && v !== "registry") throw fail("want cache (or default, registry): every selector here reads a watched registry cache");
      return v;
    }
    case "bool": {
      // A bare --flag arrives as "" (or true from commander): on, as upstream's bool flags.
      const b = String(text).trim().toLowerCase();
      if (b === "" || b === "true" || b === "1" || b === "t" || b === "yes") return true;
      if (b === "false" || b === "0" || b === "f" || b === "no") return false;
      throw fail("want true or false");
    }
    case "strategy": {
      const s = text.toLowerCase().replace(/[_-]/g, "");
      if (s !== "random" && s !== "roundrobin") throw fail("want random or roundrobin");
      return s;
    }
    case "list": {
      const md: Record<string, string> = {};
      for (const part of texts.flatMap((t) => t.split(","))) {
        if (!part) continue;
        const eq = part.indexOf("=");
        if (eq <= 0) throw new ConfigError(`invalid value ${JSON.stringify(part)} for --${flag.name}: want key=value`);
        md[part.slice(0, eq)] = part.slice(eq + 1);
      }
      return md;
    }
  }
}

/** The options set explicitly by MICRO_* variables. */
export function fromEnv(env: NodeJS.ProcessEnv): Partial<Config> {
  const out: Partial<Config> = {};
  for (const flag of FLAGS) {
    const v = env[flag.env];
    if (v !== undefined && v !== "") (out as Record<string, unknown>)[flag.key] = convert(flag, v);
  }
  return out;
}

/** The options set explicitly by command-line flags; unknown flags are an error. */
export function fromArgs(args: string[]): Partial<Config> {
  const options: Record<string, { type: "string"; multiple?: boolean }> = {};
  for (const flag of FLAGS) options[flag.name] = { type: "string", ...(flag.kind === "list" ? { multiple: true } : {}) };
  // A bare boolean flag (--enable_tls) means true; parseArgs wants a value for string options.
  const bools = new Set(FLAGS.filter((f) => f.kind === "bool").map((f) => `--${f.name}`));
  args = args.map((a) => (bools.has(a) ? `${a}=true` : a));
  let values: Record<string, string | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: true }) as { values: Record<string, string | string[] | undefined> });
  } catch (err) {
    throw new ConfigError((err as Error).message.split("\n")[0]!.replace(/^TypeError \[\w+\]: /, ""));
  }
  const out: Partial<Config> = {};
  for (const flag of FLAGS) {
    const v = values[flag.name];
    if (v !== undefined) (out as Record<string, unknown>)[flag.key] = convert(flag, v);
  }
  return out;
}

/** defaults < code options < MICRO_* variables < flags. */
export function resolveConfig(code: Partial<Config>, env: NodeJS.ProcessEnv, args: string[]): Config {
  const merged = { ...defaultConfig() };
  for (const layer of [code, fromEnv(env), fromArgs(args)]) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  }
  return merged;
}
