// moleculer-web 0.10 (Moleculer's API gateway) in its own broker, in front of
// the Moleculer greeter of bench/peers/moleculer.ts (a separate process): TCP
// transporter with a static url (no UDP discovery), JSON serializer, logger
// off. One alias: GET /greeter/say/hello → greeter.hello, the query as params,
// so ?name=John answers {"msg":"Hello John"} as micro api does.
//   server '{"port":<http port>,"backendPort":<greeter's TCP transporter port>}'
import ApiGateway from "moleculer-web";
import { ServiceBroker } from "moleculer";
import { main, type ServerOpts } from "../peer.js";

const SERVER_ID = "greeter-server"; // bench/peers/moleculer.ts

await main({
  async serve(o) {
    const { port, backendPort } = o as ServerOpts & { backendPort: number };
    const broker = new ServiceBroker({
      nodeID: `gateway-${process.pid}`,
      logger: false,
      transporter: { type: "TCP", options: { udpDiscovery: false, port: null, urls: [`127.0.0.1:${backendPort}/${SERVER_ID}`] } },
    });
    broker.createService({
      name: "api",
      mixins: [ApiGateway],
      settings: {
        port,
        ip: "127.0.0.1",
        routes: [
          {
            path: "/",
            mappingPolicy: "restrict",
            aliases: { "GET greeter/say/hello": "greeter.hello" },
            bodyParsers: { json: false, urlencoded: false },
          },
        ],
      },
    });
    await broker.start();
    await broker.waitForServices("greeter", 10_000);
    return { info: { port }, stop: () => broker.stop() };
  },

  connect() {
    throw new Error("the gateway section's load generator is bench/gateway.ts");
  },
});
