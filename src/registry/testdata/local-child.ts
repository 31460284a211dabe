// A second process for local.test.ts: runs a script of registry steps against
// a LocalRegistry folder, then exits (leaving its files, as a crash would).
// Usage: node --import tsx local-child.ts <dir> '<steps as JSON>'
import { setTimeout as sleep } from "node:timers/promises";
import type { Service } from "../registry.js";
import { LocalRegistry } from "../local.js";

type Step =
  | { op: "register"; service: Service; ttl?: number }
  | { op: "deregister"; service: Service }
  | { op: "sleep"; ms: number }
  | { op: "print"; text: string }
  /** Re-register `service` `times` times, growing its node metadata each time, so a torn write would show. */
  | { op: "churn"; service: Service; times: number };

const [dir, script] = process.argv.slice(2);
if (!dir || !script) throw new Error("usage: local-child.ts <dir> <steps>");
const registry = new LocalRegistry({ dir });
for (const step of JSON.parse(script) as Step[]) {
  switch (step.op) {
    case "register":
      await registry.register(step.service, { ttl: step.ttl ?? 0 });
      break;
    case "deregister":
      await registry.deregister(step.service);
      break;
    case "sleep":
      await sleep(step.ms);
      break;
    case "print":
      console.log(step.text);
      break;
    case "churn":
      for (let i = 0; i < step.times; i++) {
        const nodes = (step.service.nodes ?? []).map((n) => ({
          ...n,
          metadata: { round: String(i), pad: "x".repeat(500 * (i % 7)) },
        }));
        await registry.register({ ...step.service, nodes });
      }
      break;
  }
}
await registry.close();
