// One line per request in Apache combined format, as upstream's gateways
// write to stdout. The size is the Content-Length answered ("-" when the
// answer streamed without one): counting bytes would cost every request.
import type { IncomingMessage, ServerResponse } from "node:http";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function logWhenDone(req: IncomingMessage, res: ServerResponse, write: (line: string) => void): void {
  res.once("close", () => {
    const d = new Date();
    const pad = (n: number) => String(n).padStart(2, "0");
    const when = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
    const size = res.getHeader("content-length") ?? "-";
    const q = (s: string | undefined) => JSON.stringify(s ?? "-");
    write(`${req.socket?.remoteAddress ?? "-"} - - [${when}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} ${size} ${q(req.headers.referer)} ${q(req.headers["user-agent"])}`);
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
