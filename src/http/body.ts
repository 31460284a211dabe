// Reading a request body with a size limit and a deadline: a client that
// sends too much gets 413, one that stalls gets 408, and nothing is buffered
// beyond the limit.
import type { IncomingMessage } from "node:http";
import { MicroError } from "../errors/errors.js";

export interface BodyLimits {
  /** bytes; upstream's api takes up to 100 MiB (DefaultMaxRecvSize). */
  maxBytes: number;
  /** ms to receive the whole body. */
  timeoutMs: number;
  /** The error id, e.g. go.micro.api. */
  id: string;
}

export function readBody(req: IncomingMessage, { maxBytes, timeoutMs, id }: BodyLimits): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume(); // drain what comes, so the answer can go out on this connection
    return Promise.reject(new MicroError(id, 413, `request body of ${declared} bytes is over the limit of ${maxBytes}`));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: MicroError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("error", onError).off("aborted", onAborted);
      if (err) {
        req.resume();
        reject(err);
      } else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish(new MicroError(id, 413, `request body is over the limit of ${maxBytes} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = (err: Error) => finish(new MicroError(id, 400, `reading the request body: ${err.message}`));
    const onAborted = () => finish(new MicroError(id, 400, "the client went away"));
    const timer = setTimeout(() => finish(new MicroError(id, 408, `request body not received within ${timeoutMs} ms`)), timeoutMs);
    req.on("data", onData).on("end", onEnd).on("error", onError).on("aborted", onAborted);
  });
}
