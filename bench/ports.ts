// A free TCP port on 127.0.0.1, for the servers the bench and the tests start
// (peers, etcd). The tests import it from here too: one helper, one place.
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
