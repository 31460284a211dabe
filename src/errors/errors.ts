// go-micro's error type: {id, code, detail, status}, carried as JSON in the
// Micro-Error header. Field order and omit-empty rules match upstream's proto
// JSON so the bytes on the wire are the same.
import { STATUS_CODES } from "node:http";

export class MicroError extends Error {
  readonly id: string;
  readonly code: number;
  readonly detail: string;
  readonly status: string;

  constructor(id: string, code: number, detail: string, status?: string) {
    super(detail);
    this.name = "MicroError";
    this.id = id;
    this.code = code;
    this.detail = detail;
    this.status = status ?? statusText(code);
  }

  /** The upstream JSON: empty fields are left out, as Go's omitempty does. */
  toJSON(): { id?: string; code?: number; detail?: string; status?: string } {
    const out: { id?: string; code?: number; detail?: string; status?: string } = {};
    if (this.id) out.id = this.id;
    if (this.code) out.code = this.code;
    if (this.detail) out.detail = this.detail;
    if (this.status) out.status = this.status;
    return out;
  }

  override toString(): string {
    return JSON.stringify(this.toJSON());
  }
}

// Where Go's http.StatusText and node's STATUS_CODES name a code differently, Go's name.
const GO_TEXT: Record<number, string> = {
  413: "Request Entity Too Large",
  414: "Request URI Too Long",
  416: "Requested Range Not Satisfiable",
  418: "I'm a teapot",
  509: "",
};

/** Go's http.StatusText: "" for unknown codes. */
export function statusText(code: number): string {
  return (code && (GO_TEXT[code] ?? STATUS_CODES[code])) || "";
}

function format(detail: string, args: unknown[]): string {
  if (args.length === 0) return detail;
  let i = 0;
  // A small printf: %s %d %v %q are what handlers use in practice.
  return detail.replace(/%[sdvq%]/g, (m) => {
    if (m === "%%") return "%";
    if (i >= args.length) return m;
    const a = args[i++];
    return m === "%q" ? JSON.stringify(String(a)) : String(a);
  });
}

const make = (code: number) => (id: string, detail: string, ...args: unknown[]) =>
  new MicroError(id, code, format(detail, args));

export const badRequest = make(400);
export const unauthorized = make(401);
export const forbidden = make(403);
export const notFound = make(404);
export const methodNotAllowed = make(405);
export const timeout = make(408);
export const conflict = make(409);
export const internalServerError = make(500);

/** Like upstream errors.Parse: JSON when it is one, else code 0 with the text as detail. */
export function parse(text: string): MicroError {
  if (text.length > 0 && text.charCodeAt(0) === 0x7b /* { */) {
    try {
      const v = JSON.parse(text) as Record<string, unknown>;
      if (v && typeof v === "object") {
        const code = typeof v.code === "number" ? v.code : 0;
        return new MicroError(
          typeof v.id === "string" ? v.id : "",
          code,
          typeof v.detail === "string" ? v.detail : "",
          typeof v.status === "string" ? v.status : "",
        );
      }
    } catch {
      // not JSON: fall through to the plain form
    }
  }
  return new MicroError("", 0, text, "");
}

/** Any thrown value as a MicroError; plain errors become 500s with the given id. */
export function fromError(err: unknown, id: string): MicroError {
  if (err instanceof MicroError) return err;
  if (err instanceof Error) return new MicroError(id, 500, err.message);
  return new MicroError(id, 500, String(err));
}
