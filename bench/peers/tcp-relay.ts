// The gateway section's floor: a relay that parses nothing. Each accepted
// connection is piped byte for byte to a new connection to one address (the
// greeter). Whatever one more Node process on the path costs, with no HTTP
// parsing, routing or encoding at all, this measures; no gateway can be cheaper.
import { connect, createServer, type Socket } from "node:net";
import { main } from "../peer.js";

await main({
  async serve({ port, target }) {
    const [host, p] = splitHostPort(target ?? "");
    const sockets = new Set<Socket>();
    const track = (s: Socket) => {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    };
    const server = createServer((inbound) => {
      const outbound = connect(p, host);
      track(inbound);
      track(outbound);
      inbound.setNoDelay(true);
      outbound.setNoDelay(true);
      inbound.pipe(outbound).pipe(inbound);
      const end = () => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.once("error", end).once("close", end);
      outbound.once("error", end).once("close", end);
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    return {
      info: { port: (server.address() as { port: number }).port },
      stop: async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  },

  connect() {
    throw new Error("the gateway section's load generator is bench/gateway.ts");
  },
});

function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(":");
  const port = Number(addr.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port <= 0) throw new Error(`target must be host:port, not "${addr}"`);
  return [addr.slice(0, i), port];
}
