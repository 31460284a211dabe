// A transport moves mucp messages: header map + body, framed as HTTP/1.1
// requests and responses on plain TCP (reference §2.1-2.2).

/** Header keys are in Go's canonical form (Micro-Id, Content-Type, X-Micro-Error). */
export type Header = Record<string, string>;

export interface Message {
  header: Header;
  body: Buffer;
}

/** The server side of one accepted connection, handed to the message handler. */
export interface ServerConnection {
  /** Local address, "host:port" as Go prints it ("[::1]:8080" for IPv6). */
  readonly local: string;
  readonly remote: string;
  /** Queues one response; writes are batched per tick. A no-op once the connection is gone. */
  send(msg: Message): void;
  /**
   * The common answer, sent faster than send(): header Micro-Id and
   * X-Micro-Id = id, Content-Type when given, nothing else of its own.
   */
  reply(id: string, contentType: string | undefined, body: Buffer): void;
  /** Ends the connection after flushing what was sent. */
  close(): void;
}

export type MessageHandler = (msg: Message, conn: ServerConnection) => void;

export interface TransportServer {
  /** The address actually bound, "host:port" ("[::]:41234" for ":0"). */
  readonly address: string;
  /** Open connections. */
  readonly connections: number;
  /** Stops accepting, closes idle connections, waits up to graceMs for busy ones, then destroys the rest. */
  close(graceMs?: number): Promise<void>;
}

/**
 * A transport failure. `code` follows Node's errno names where one fits
 * (ECONNREFUSED, ECONNRESET, ETIMEDOUT, EHOSTUNREACH ...) plus
 * EHTTPSTATUS (non-200 answer), EMSGSIZE (body over the limit),
 * EPROTO (unparsable frames), ECLOSED (client closed), EINVAL (bad address).
 */
export class TransportError extends Error {
  readonly code: string;
  readonly address: string | undefined;

  constructor(code: string, message: string, address?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "TransportError";
    this.code = code;
    this.address = address;
  }
}
