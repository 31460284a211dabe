// A codec turns request and response values into bytes for one Content-Type.
export interface Codec {
  /** The Content-Type it serves, e.g. "application/json". */
  readonly contentType: string;
  marshal(value: unknown): Buffer;
  unmarshal(data: Buffer): unknown;
}

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CodecError";
  }
}
