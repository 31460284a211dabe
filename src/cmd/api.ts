// micro api: the API gateway (reference §5). Flags and variables as upstream;
// the gateway itself is src/api/gateway.ts.
import { Command, Option } from "commander";
import { Gateway, HANDLERS, type HandlerName } from "../api/gateway.js";
import { RESOLVERS, type ResolverName } from "../api/resolver.js";
import { convert } from "../config/config.js";
import { listenOptions } from "../http/listen.js";
import { lineBatcher } from "../http/accesslog.js";
import { newLogger } from "../util/log.js";
import { listenFront, serve } from "./serve.js";
import { VERSION } from "./version.js";

const bool = (name: string) => (v: string | boolean) => convert({ name, env: "", key: "enableTls", kind: "bool", help: "" }, String(v)) as boolean;

export function apiCommand(): Command {
  return new Command("api")
    .description("Run the api gateway")
    .addOption(new Option("--address <host:port>", "Set the api address e.g 0.0.0.0:8080").env("MICRO_API_ADDRESS"))
    .addOption(new Option("--handler <name>", `Specify the request handler to be used for mapping HTTP requests to services; {${HANDLERS.join(", ")}}`).env("MICRO_API_HANDLER"))
    .addOption(new Option("--namespace <ns>", "Set the namespace used by the API e.g. com.example.api").env("MICRO_API_NAMESPACE"))
    .addOption(new Option("--resolver <name>", `Set the hostname resolver used by the API {${RESOLVERS.join(", ")}}`).env("MICRO_API_RESOLVER"))
    .addOption(new Option("--enable_rpc [bool]", "Enable call the backend directly via /rpc").env("MICRO_API_ENABLE_RPC").argParser(bool("enable_rpc")))
    .addOption(new Option("--rpc_allow <prefixes>", "Comma-separated service-name prefixes /rpc may call (default: all)").env("MICRO_API_RPC_ALLOW"))
    .addOption(new Option("--enable_cors [bool]", "Enable CORS, allowing the API to be called by frontend applications (default true)").env("MICRO_API_ENABLE_CORS").argParser(bool("enable_cors")))
    .addOption(new Option("--max_request_size <bytes>", "Largest request body the gateway accepts (default 10485760)").env("MICRO_API_MAX_REQUEST_SIZE"))
    .action(async function (this: Command) {
      await serve(this, "go.micro.api", async (rt, flags) => {
        const log = newLogger();
        const accessLog = lineBatcher((text) => process.stdout.write(text));
        const handler = String(flags.handler || rt.config.apiHandler || "meta").toLowerCase();
        if (!(HANDLERS as readonly string[]).includes(handler)) throw new Error(`unknown handler ${JSON.stringify(handler)} (known: ${HANDLERS.join(", ")})`);
        const resolver = String(flags.resolver || "micro").toLowerCase();
        if (!(RESOLVERS as readonly string[]).includes(resolver)) throw new Error(`unknown resolver ${JSON.stringify(resolver)} (known: ${RESOLVERS.join(", ")})`);
        const maxBody = flags.max_request_size === undefined ? 10 << 20 : Number(flags.max_request_size);
        if (!Number.isSafeInteger(maxBody) || maxBody <= 0) throw new Error(`invalid value ${JSON.stringify(flags.max_request_size)} for --max_request_size: want a number of bytes`);
        // An explicit namespace is taken whole (the notes' --api_namespace=mu.micro.book.web); MICRO_NAMESPACE as the notes use it.
        const namespace = String(flags.namespace || rt.config.apiNamespace || rt.config.namespace || "go.micro.api");
        const gateway = new Gateway({
          client: rt.client,
          cache: rt.cache,
          namespace,
          handler: handler as HandlerName,
          resolver: resolver as ResolverName,
          enableRpc: flags.enable_rpc === true,
          rpcAllow: String(flags.rpc_allow ?? "").split(",").map((s) => s.trim()).filter(Boolean),
          enableCors: flags.enable_cors !== false,
          maxBodyBytes: maxBody,
          proxyTimeoutMs: rt.config.clientRequestTimeout,
          version: VERSION,
          accessLog: accessLog.line,
        });
        const address = String(flags.address || rt.config.apiAddress || ":8080");
        const options = listenOptions(rt.config, address, log);
        await gateway.start();
        // Slow clients may not hold a request open forever.
        const front = { handle: gateway.handle, upgrade: gateway.upgrade, close: () => gateway.close(), lean: gateway };
        return listenFront("api", front, options, 60_000, log, accessLog, `Registering API ${handler} handler at / with namespace ${namespace}`);
      });
    });
}
