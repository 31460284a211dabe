// The process shell every bench/peers/<name>.ts runs in, so the framework
// files hold only framework code:
//   node peers/x.js server '<ServerOpts json>'  → {"ready":true,...} once listening; exits on SIGTERM
//   node peers/x.js client '<ClientOpts json>'  → one JSON line per scenario, then exits
//   node peers/x.js probe  '<ClientOpts json>'  → {"probing":true} once its client is set up, then
//       calls until the first good reply and prints {"firstReply":<epoch ms>} (start-up timing)
import { performance } from "node:perf_hooks";
import { runLoad, type LoadResult } from "./load.js";
import { PAYLOADS, checkFor, type Reply, type Request, type Scenario } from "./payload.js";

export interface ServerOpts {
  /** TCP port to listen on (0 = any); micro-ts ignores it and registers instead. */
  port: number;
  /** LocalRegistry folder (micro-ts). */
  registryDir: string;
  /** tcp-relay: the host:port every connection is piped to. */
  target?: string;
}

export interface ClientOpts extends ServerOpts {
  /** micro-ts: one request per connection at a time, as a Go client. */
  compat?: boolean;
  /** Set up for polling a server that is not up yet. */
  probe?: boolean;
  scenarios?: Scenario[];
  warmupMs?: number;
  durationMs?: number;
}

export interface Conn {
  hello(req: Request): Promise<Reply>;
  close(): Promise<void> | void;
}

export interface Peer {
  /** Listens; resolves with address info for the ready line and a stop function. */
  serve(o: ServerOpts): Promise<{ info?: Record<string, unknown>; stop?: () => Promise<void> }>;
  connect(o: ClientOpts): Promise<Conn>;
}

const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

/** Calls until one good reply; errors until then are expected (server not up yet / not discovered). */
async function firstGood(conn: Conn, pauseMs: number, limitMs: number): Promise<void> {
  const check = checkFor("tiny");
  const deadline = Date.now() + limitMs;
  let last = "no attempt";
  while (Date.now() < deadline) {
    try {
      const r = await conn.hello(PAYLOADS.tiny);
      if (check(r)) return;
      last = `bad reply ${JSON.stringify(r)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(pauseMs);
  }
  throw new Error(`no good reply within ${limitMs} ms (last: ${last})`);
}

export async function main(peer: Peer): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  const opts = JSON.parse(json ?? "{}") as ClientOpts;
  try {
    if (mode === "server") {
      const { info, stop } = await peer.serve(opts);
      const quit = () => void (stop ? stop() : Promise.resolve()).finally(() => process.exit(0));
      process.once("SIGTERM", quit);
      process.once("SIGINT", quit);
      out({ ready: true, pid: process.pid, ...info });
    } else if (mode === "client") {
      const conn = await peer.connect(opts);
      await firstGood(conn, 20, 10_000);
      const scenarios = opts.scenarios ?? [];
      const warmupMs = opts.warmupMs ?? 500;
      const load = (s: Scenario, durationMs: number) =>
        runLoad({ call: () => conn.hello(PAYLOADS[s.payload]), check: checkFor(s.payload), concurrency: s.concurrency, warmupMs, durationMs });
      // Prime: one warm-up pass over every scenario first, so the JIT state of
      // both sides does not penalise whichever scenario happens to run first.
      const primed = new Map<Scenario, LoadResult>();
      for (const s of scenarios) primed.set(s, await load(s, 0));
      for (const s of scenarios) {
        const r = await load(s, opts.durationMs ?? 3000);
        // Failures while priming count too: every call made must have succeeded.
        const p = primed.get(s)!;
        r.failed += p.failed;
        r.firstError ??= p.firstError;
        out({ scenario: s.name, ...r });
      }
      await Promise.race([conn.close(), sleep(2000)]); // a hung close must not hang the run
      process.exit(0);
    } else if (mode === "probe") {
      const conn = await peer.connect({ ...opts, probe: true });
      out({ probing: true });
      await firstGood(conn, 2, 15_000);
      out({ firstReply: now() });
      process.exit(0);
    } else {
      throw new Error(`mode must be server, client or probe, not ${mode}`);
    }
  } catch (err) {
    // First line is what run.ts quotes; the stack follows for whoever reads the log.
    process.stderr.write(`bench-peer-error: ${mode}: ${(err as Error)?.message ?? err}\n${(err as Error)?.stack ?? ""}\n`);
    process.exit(1);
  }
}
