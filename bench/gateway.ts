// The load generator of the gateway section of `npm run bench` (issue 5):
//   node gateway.js http   '<GatewayLoadOpts json>'  GET <path> on 127.0.0.1:<port>, HTTP/1.1 keep-alive,
//                                                    one connection per call in flight (no pipelining)
//   node gateway.js mucp   '<GatewayLoadOpts json>'  the same call as an mucp request, which is HTTP/1.1
//                                                    (POST / with Micro-Service and Micro-Endpoint), sent by
//                                                    the same keep-alive client to <port>: the greeter itself,
//                                                    or a relay before it
//   node gateway.js direct '<GatewayLoadOpts json>'  the same greeter call through the micro-ts Client,
//                                                    in this process: what the gateway saves a caller from
// Either way: first one good reply (≤ 10 s; the gateway may not have discovered
// the service yet), then one warm-up pass over every concurrency (JIT, not
// counted), then each concurrency measured, printing one JSON line when its
// window opens (so the harness can read the servers' CPU clocks) and one with the result:
//   {"window":"c<N>"}
//   {"scenario":"c<N>","concurrency":N,...LoadResult,"cpu":<load generator CPU, fraction of one core>}
// Every reply is checked: HTTP 200 and exactly {"msg":"Hello John"}.
//
// The HTTP client is a few lines over net.Socket rather than node:http's
// client (which costs the load generator several times more CPU per request,
// as wrk or autocannon avoid too): a fixed request, the answer read by its
// Content-Length (or chunked), then parsed as JSON.
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { CacheRegistry, Client, LocalRegistry } from "../src/index.js";
import { runLoad, type LoadResult } from "./load.js";
import { PAYLOADS, checkFor, type Reply } from "./payload.js";

export interface GatewayLoadOpts {
  /** http, mucp: the port to call. */
  port?: number;
  /** http: the request path and query. */
  path?: string;
  /** direct: the LocalRegistry folder the greeter registered in. */
  registryDir?: string;
  concurrency: number[];
  warmupMs: number;
  durationMs: number;
}

const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  body: Buffer;
}

const CRLF2 = Buffer.from("\r\n\r\n");

/** One keep-alive connection, one request at a time. */
class HttpConn {
  readonly #socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | undefined;
  #dead: Error | undefined;

  constructor(port: number) {
    this.#socket = connect(port, "127.0.0.1");
    this.#socket.setNoDelay(true);
    this.#socket.on("data", (d: Buffer) => {
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
      this.#parse();
    });
    const die = (err: Error) => {
      this.#dead ??= err;
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.reject(err);
    };
    this.#socket.on("error", die);
    this.#socket.on("close", () => die(new Error("connection closed by the gateway")));
  }

  get dead(): boolean {
    return this.#dead !== undefined;
  }

  request(bytes: Buffer): Promise<Answer> {
    if (this.#dead) return Promise.reject(this.#dead);
    if (this.#waiting) return Promise.reject(new Error("request while one is in flight"));
    return new Promise<Answer>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(bytes);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #parse(): void {
    const buf = this.#buf;
    const end = buf.indexOf(CRLF2);
    if (end < 0) return;
    const head = buf.toString("latin1", 0, end);
    const status = Number(head.slice(9, 12));
    let length = -1;
    let chunked = false;
    for (const line of head.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (name === "content-length") length = Number(line.slice(colon + 1).trim());
      else if (name === "transfer-encoding") chunked = /chunked/i.test(line.slice(colon + 1));
    }
    let body: Buffer;
    let rest: Buffer;
    if (chunked) {
      const chunks: Buffer[] = [];
      let at = end + 4;
      for (;;) {
        const lineEnd = buf.indexOf("\r\n", at);
        if (lineEnd < 0) return;
        const size = parseInt(buf.toString("latin1", at, lineEnd), 16);
        if (!Number.isFinite(size)) return this.#fail(new Error("bad chunk size"));
        if (size === 0) {
          const trailerEnd = buf.indexOf(CRLF2, lineEnd);
          const plain = buf.indexOf("\r\n", lineEnd + 2);
          if (plain === lineEnd + 2) at = plain + 2; // no trailers
          else if (trailerEnd >= 0) at = trailerEnd + 4;
          else return;
          break;
        }
        if (buf.length < lineEnd + 2 + size + 2) return;
        chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(chunks);
      rest = buf.subarray(at);
    } else {
      if (length < 0) return this.#fail(new Error(`answer without Content-Length: ${head.split("\r\n")[0]}`));
      if (buf.length < end + 4 + length) return;
      body = buf.subarray(end + 4, end + 4 + length);
      rest = buf.subarray(end + 4 + length);
    }
    this.#buf = rest;
    const w = this.#waiting;
    this.#waiting = undefined;
    if (!w) return this.#fail(new Error("an answer nobody asked for"));
    if (rest.length) return this.#fail(new Error("bytes after the answer"));
    w.resolve({ status, body });
  }

  #fail(err: Error): void {
    this.#socket.destroy(err);
  }
}

const gatewayRequest = (port: number, path: string) =>
  Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: application/json\r\nConnection: keep-alive\r\n\r\n`, "latin1");

/** The greeter call as a Go client writes it (reference §2.1), with a JSON body. */
function mucpRequest(port: number): Buffer {
  const body = JSON.stringify(PAYLOADS.tiny);
  return Buffer.from(
    `POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\n` +
      `Micro-Service: go.micro.srv.greeter\r\nMicro-Endpoint: Say.Hello\r\nMicro-Method: Say.Hello\r\n\r\n${body}`,
    "utf8",
  );
}

/** Connections for HTTP calls: each call takes an idle one (opening one when none is), gives it back when answered. */
function httpCaller(port: number, bytes: Buffer): { call: () => Promise<Reply>; close: () => void } {
  const idle: HttpConn[] = [];
  const all = new Set<HttpConn>();
  const call = async (): Promise<Reply> => {
    let conn = idle.pop();
    while (conn?.dead) {
      all.delete(conn);
      conn = idle.pop();
    }
    if (!conn) {
      conn = new HttpConn(port);
      all.add(conn);
    }
    let a: Answer;
    try {
      a = await conn.request(bytes);
    } catch (err) {
      all.delete(conn);
      conn.close();
      throw err;
    }
    idle.push(conn);
    const text = a.body.toString("utf8");
    if (a.status !== 200) throw new Error(`HTTP ${a.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as Reply;
  };
  return { call, close: () => all.forEach((c) => c.close()) };
}

function directCaller(registryDir: string): { call: () => Promise<Reply>; close: () => void } {
  const client = new Client({ registry: new CacheRegistry(new LocalRegistry({ dir: registryDir })) });
  return { call: () => client.call<Reply>("go.micro.srv.greeter", "Say.Hello", PAYLOADS.tiny), close: () => client.close() };
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  const o = JSON.parse(json ?? "{}") as GatewayLoadOpts;
  const caller =
    mode === "http" ? httpCaller(o.port ?? 0, gatewayRequest(o.port ?? 0, o.path ?? "/")) :
    mode === "mucp" ? httpCaller(o.port ?? 0, mucpRequest(o.port ?? 0)) :
    mode === "direct" ? directCaller(o.registryDir ?? "") :
    undefined;
  if (!caller) throw new Error(`mode must be http, mucp or direct, not ${mode}`);
  const check = checkFor("tiny");

  // The gateway may not have the service in its cache yet: errors until the first good reply are expected.
  const deadline = Date.now() + 10_000;
  let last = "no attempt";
  for (;;) {
    try {
      const r = await caller.call();
      if (check(r)) break;
      last = `bad reply ${JSON.stringify(r)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`no good reply within 10 s (last: ${last})`);
    await sleep(20);
  }

  const load = async (concurrency: number, durationMs: number): Promise<LoadResult & { cpu: number }> => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const onWindow = durationMs > 0 ? () => out({ window: `c${concurrency}` }) : undefined;
    const r = await runLoad({ call: caller.call, check, concurrency, warmupMs: o.warmupMs, durationMs, ...(onWindow ? { onWindow } : {}) });
    const used = process.cpuUsage(cpu0);
    return { ...r, cpu: (used.user + used.system) / 1000 / (performance.now() - t0) };
  };
  // Prime every concurrency first, as the throughput section's clients do.
  const primed = new Map<number, LoadResult>();
  for (const c of o.concurrency) primed.set(c, await load(c, 0));
  for (const c of o.concurrency) {
    const r = await load(c, o.durationMs);
    const p = primed.get(c)!;
    r.failed += p.failed; // every call made must have succeeded, warm-up included
    r.firstError ??= p.firstError;
    out({ scenario: `c${c}`, concurrency: c, ...r });
  }
  await Promise.race([Promise.resolve(caller.close()), sleep(2000)]);
  process.exit(0);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench-peer-error: gateway load: ${(err as Error)?.message ?? err}\n${(err as Error)?.stack ?? ""}\n`);
  process.exit(1);
}
