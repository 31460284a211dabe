// What every framework sends and must answer, and the scenario list, so all
// peers run exactly the same work.
export interface Request {
  name: string;
  data?: string;
}
export interface Reply {
  msg: string;
  data?: string;
}

/** 16 KiB of plain ASCII (nothing to escape in JSON, no run that compresses to nothing). */
export const DATA_16K = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_".repeat(256);
if (DATA_16K.length !== 16384) throw new Error("DATA_16K must be 16384 chars");

export const PAYLOADS = {
  tiny: { name: "John" } as Request,
  "16k": { name: "John", data: DATA_16K } as Request,
};
export type PayloadName = keyof typeof PAYLOADS;

/** The server's job, identical everywhere: greet, echo data only when sent. */
export function greet(req: Request): Reply {
  const msg = "Hello " + req.name;
  return req.data === undefined || req.data === "" ? { msg } : { msg, data: req.data };
}

/** Content checks: a reply that is not exactly right counts as a failed call. */
export function checkFor(payload: PayloadName): (reply: unknown) => boolean {
  // gRPC has no "absent" for proto3 strings: an empty data means none.
  if (payload === "tiny") return (r) => (r as Reply | null)?.msg === "Hello John" && !(r as Reply).data;
  return (r) => (r as Reply | null)?.msg === "Hello John" && (r as Reply).data === DATA_16K;
}

export interface Scenario {
  name: string;
  payload: PayloadName;
  concurrency: number;
}

/** "<payload>-<calls in flight>"; names are what BENCH_SCENARIOS takes. */
export const SCENARIOS: readonly Scenario[] = [
  { name: "tiny-1", payload: "tiny", concurrency: 1 },
  { name: "tiny-10", payload: "tiny", concurrency: 10 },
  { name: "tiny-100", payload: "tiny", concurrency: 100 },
  { name: "16k-1", payload: "16k", concurrency: 1 },
  { name: "16k-100", payload: "16k", concurrency: 100 },
];
