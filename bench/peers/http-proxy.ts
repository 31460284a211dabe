// The gateway section's floor: the minimal hand-written gateway. A bare
// node:http server that, per request, calls the greeter with the micro-ts
// Client (found through a CacheRegistry, as micro api's client does) and
// writes the answer as JSON. No CORS, no resolver, no metadata, no access
// log: GET /greeter/say/hello?name=John only.
import http from "node:http";
import { CacheRegistry, Client, LocalRegistry } from "../../src/index.js";
import type { Reply } from "../payload.js";
import { main } from "../peer.js";

const PATH = "/greeter/say/hello";

await main({
  async serve({ port, registryDir }) {
    const client = new Client({ registry: new CacheRegistry(new LocalRegistry({ dir: registryDir })) });
    const fail = (res: http.ServerResponse, status: number, detail: string) => {
      const body = JSON.stringify({ id: "bench.proxy", code: status, detail, status: http.STATUS_CODES[status] });
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
    const server = http.createServer((req, res) => {
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      if ((q < 0 ? url : url.slice(0, q)) !== PATH || req.method !== "GET") return fail(res, 404, "not found");
      const name = new URLSearchParams(q < 0 ? "" : url.slice(q + 1)).get("name") ?? "";
      client.call<Reply>("go.micro.srv.greeter", "Say.Hello", { name }).then(
        (reply) => {
          const body = JSON.stringify(reply);
          res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
          res.end(body);
        },
        (err: Error) => fail(res, 500, err.message),
      );
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    const bound = (server.address() as { port: number }).port;
    return {
      info: { port: bound },
      stop: async () => {
        client.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  },

  connect() {
    throw new Error("the gateway section's load generator is bench/gateway.ts");
  },
});
