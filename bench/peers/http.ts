// The floor: bare node:http, keep-alive agent with unlimited sockets, the same
// echo as a JSON POST. No framework, no routing, no discovery.
import http from "node:http";
import { greet, type Reply, type Request } from "../payload.js";
import { main } from "../peer.js";

await main({
  async serve({ port }) {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.stringify(greet(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Request));
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    const bound = (server.address() as { port: number }).port;
    return { info: { port: bound }, stop: () => new Promise<void>((r) => server.close(() => r())) };
  },

  async connect({ port }) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    const hello = (req: Request) =>
      new Promise<Reply>((resolve, reject) => {
        const body = JSON.stringify(req);
        const r = http.request(
          {
            agent, host: "127.0.0.1", port, method: "POST", path: "/Say.Hello",
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
              try {
                resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Reply);
              } catch (err) {
                reject(err as Error);
              }
            });
            res.on("error", reject);
          },
        );
        r.on("error", reject);
        r.end(body);
      });
    return { hello, close: () => agent.destroy() };
  },
});
