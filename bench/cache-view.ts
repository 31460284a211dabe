// One client process watching etcd through a CacheRegistry, for the churn
// checks (test/etcd-churn.test.ts, bench/registry.ts). Argument: JSON
// {"address": "host:port", "services": [...], "readEveryMs"?: 20}.
// Prints {"ready":true} once every service was looked up; then for each line
// on stdin: "view" → {"views": {name: {cached, view}}, "seen": {eventKey: wallMs}},
// "close" (or stdin's end) → {"closed":true} and exit 0.
import { createInterface } from "node:readline";
import { WatchingCache } from "./churn.js";

const { address, services, readEveryMs = 20 } = JSON.parse(process.argv[2] ?? "{}") as { address: string; services: string[]; readEveryMs?: number };
const watching = new WatchingCache(address);
const write = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");

let closing: Promise<void> | undefined;
const close = () =>
  (closing ??= (async () => {
    await watching.close();
    write({ closed: true });
    process.exit(0);
  })());

try {
  await watching.start(services);
} catch (err) {
  process.stderr.write(`cache-view: ${(err as Error).message}\n`);
  process.exit(1);
}
watching.startReading(services, readEveryMs);
write({ ready: true });

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim() === "view") {
    void watching.views(services).then(
      (views) => write({ views, seen: Object.fromEntries(watching.observed.seen) }),
      (err: unknown) => write({ views: null, error: (err as Error).message }),
    );
  } else if (line.trim() === "close") void close();
});
lines.on("close", () => void close());
