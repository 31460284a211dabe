// micro web: the web proxy and dashboard (reference §6). Flags and variables
// as upstream; the server itself is src/web/server.ts.
import { Command, Option } from "commander";
import { parseDuration } from "../util/duration.js";
import { newLogger } from "../util/log.js";
import { listenOptions } from "../http/listen.js";
import { lineBatcher } from "../http/accesslog.js";
import { WebServer } from "../web/server.js";
import { WEB_RESOLVERS, webNamespace, type WebResolverName } from "../web/resolver.js";
import { listenFront, serve } from "./serve.js";
import { VERSION } from "./version.js";

export function webCommand(): Command {
  return new Command("web")
    .description("Run the web dashboard")
    .addOption(new Option("--address <host:port>", "Set the web UI address e.g 0.0.0.0:8082").env("MICRO_WEB_ADDRESS"))
    .addOption(new Option("--namespace <ns>", "Set the namespace used by the Web proxy e.g. com.example.web").env("MICRO_WEB_NAMESPACE"))
    .addOption(new Option("--resolver <name>", `Set the resolver to route to services e.g path, domain {${WEB_RESOLVERS.join(", ")}}`).env("MICRO_WEB_RESOLVER"))
    .addOption(new Option("--timeout <duration>", "How long a web service may take to start answering a proxied request, e.g. 30s (default 30s)").env("MICRO_WEB_TIMEOUT"))
    .addOption(new Option("--rpc_allow <prefixes>", "Comma-separated service-name prefixes /rpc may call (default: all)").env("MICRO_WEB_RPC_ALLOW"))
    .action(async function (this: Command) {
      await serve(this, "go.micro.web", async (rt, flags) => {
        const log = newLogger();
        const accessLog = lineBatcher((text) => process.stdout.write(text));
        const resolver = String(flags.resolver || "path").toLowerCase();
        if (!(WEB_RESOLVERS as readonly string[]).includes(resolver)) {
          throw new Error(`unknown resolver ${JSON.stringify(resolver)} (known: ${WEB_RESOLVERS.join(", ")})`);
        }
        let timeout = 30_000;
        if (flags.timeout !== undefined) {
          try {
            timeout = parseDuration(String(flags.timeout), "s");
          } catch {
            throw new Error(`invalid value ${JSON.stringify(flags.timeout)} for --timeout: want a duration such as 500ms, 5s or 1m`);
          }
          if (!(timeout > 0)) throw new Error(`invalid value ${JSON.stringify(flags.timeout)} for --timeout: must be more than 0`);
        }
        const namespaceFlag = String(flags.namespace || rt.config.webNamespace || "");
        const address = String(flags.address || rt.config.webAddress || ":8082");
        const options = listenOptions(rt.config, address, log); // TLS/ACME from the global flags, as micro api
        const web = new WebServer({
          registry: rt.registry,
          cache: rt.cache,
          client: rt.client,
          namespace: namespaceFlag,
          resolver: resolver as WebResolverName,
          proxyTimeoutMs: timeout,
          rpcAllow: String(flags.rpc_allow ?? "").split(",").map((s) => s.trim()).filter(Boolean),
          accessLog: accessLog.line,
          logger: log,
          version: VERSION,
        });
        // Slow clients may not hold a request open forever (proxied answers and the live feed are not bounded by this).
        return listenFront("web", web, options, 120_000, log, accessLog, `Registering web proxy at / with namespace ${webNamespace(namespaceFlag)} (resolver ${resolver})`);
      });
    });
}
