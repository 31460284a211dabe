// Moleculer 0.14: TCP transporter with static urls (no UDP discovery), JSON
// serializer (the default), logger off; service "greeter", action "hello".
import { ServiceBroker } from "moleculer";
import { greet, type Reply, type Request } from "../payload.js";
import { main } from "../peer.js";

const SERVER_ID = "greeter-server";

const broker = (nodeID: string, port: number | null, urls: string[]) =>
  new ServiceBroker({
    nodeID,
    logger: false,
    transporter: { type: "TCP", options: { udpDiscovery: false, port, urls } },
  });

await main({
  async serve({ port }) {
    const b = broker(SERVER_ID, port, []);
    b.createService({
      name: "greeter",
      actions: {
        hello(ctx) {
          return greet(ctx.params as Request);
        },
      },
    });
    await b.start();
    return { info: { port }, stop: () => b.stop() };
  },

  async connect({ port, probe }) {
    const b = broker(`bench-client-${process.pid}`, null, [`127.0.0.1:${port}/${SERVER_ID}`]);
    await b.start();
    // A probe starts before the server exists, so it cannot wait here.
    if (!probe) await b.waitForServices("greeter", 10_000);
    return {
      hello: (req) => b.call<Reply, Request>("greeter.hello", req),
      close: () => b.stop(),
    };
  },
});
