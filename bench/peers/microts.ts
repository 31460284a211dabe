// micro-ts: the greeter as a Service on the local registry; the client finds
// it through a CacheRegistry, as a service's own client does.
import { CacheRegistry, Client, LocalRegistry, Service, type Logger } from "../../src/index.js";
import { greet, type Reply, type Request } from "../payload.js";
import { main } from "../peer.js";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

await main({
  async serve({ registryDir }) {
    const service = new Service({
      name: "go.micro.srv.greeter",
      address: "127.0.0.1:0",
      registry: new LocalRegistry({ dir: registryDir }),
      logger: quiet,
      args: [],
      handleSignals: false, // the shell's SIGTERM handler calls stop()
    });
    service.handle("Say", {
      async hello(req: Request) {
        return greet(req);
      },
    });
    await service.start();
    return { info: { address: service.server.address }, stop: () => service.stop() };
  },

  async connect({ registryDir, compat, probe }) {
    const client = new Client({
      registry: new CacheRegistry(new LocalRegistry({ dir: registryDir })),
      ...(compat ? { maxInFlightPerConnection: 1 } : {}),
    });
    // Probing: "not found" is expected until the node registers; no retry backoff in the way.
    const options = probe ? { retries: 0, timeout: 1000 } : {};
    return {
      hello: (req) => client.call<Reply>("go.micro.srv.greeter", "Say.Hello", req, options),
      close: () => client.close(),
    };
  },
});
