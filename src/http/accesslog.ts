// One line per request in Apache combined format, as upstream's gateways
// write to stdout. The size is the Content-Length answered ("-" when the
// answer streamed without one): counting bytes would cost every request.
import type { IncomingMessage, ServerResponse } from "node:http";
import { perSecond } from "../util/persecond.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export interface Logged {
  remoteAddress: string | undefined;
  method: string | undefined;
  url: string | undefined;
  httpVersion: string;
  status: number;
  size: number | string | undefined;
  referer: string | undefined;
  userAgent: string | undefined;
}

const now = perSecond((ms) => {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
});

const q = (s: string | undefined) => JSON.stringify(s ?? "-");

export function accessLine(r: Logged): string {
  return `${r.remoteAddress || "-"} - - [${now()}] "${r.method} ${r.url} HTTP/${r.httpVersion}" ${r.status} ${r.size ?? "-"} ${q(r.referer)} ${q(r.userAgent)}`;
}

/** node:http: one line once the response is done. */
export function logWhenDone(req: IncomingMessage, res: ServerResponse, write: (line: string) => void): void {
  res.once("close", () => {
    write(
      accessLine({
        remoteAddress: req.socket?.remoteAddress,
        method: req.method,
        url: req.url,
        httpVersion: req.httpVersion,
        status: res.statusCode,
        size: res.getHeader("content-length") as number | string | undefined,
        referer: req.headers.referer,
        userAgent: req.headers["user-agent"],
      }),
    );
  });
}

/**
 * Lines gathered and written once per event-loop turn: one write to stdout
 * for a burst of requests instead of one each. flush() writes what is left.
 */
export function lineBatcher(write: (text: string) => void): { line(text: string): void; flush(): void } {
  let lines: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (lines.length === 0) return;
    const text = lines.join("\n") + "\n";
    lines = [];
    write(text);
  };
  return {
    line(text) {
      lines.push(text);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
