// Turns a user's handler object into endpoints: handle("Say", { hello }) gives
// endpoint "Say.Hello", like go-micro's "<Struct>.<Method>".
import type { Endpoint, Value } from "../registry/registry.js";
import type { Metadata } from "../metadata/metadata.js";

/** What a handler method sees besides its request. */
export interface HandlerContext {
  /** The service the caller addressed (Micro-Service). */
  readonly service: string;
  /** e.g. "Say.Hello" */
  readonly endpoint: string;
  /** Every header of the call, canonical keys, plus Local and Remote. */
  readonly metadata: Metadata;
  /** Epoch ms after which the caller has given up, when it sent a Timeout. */
  readonly deadline: number | undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HandlerMethod = (request: any, context: HandlerContext) => unknown;

export interface EndpointDescription {
  request?: Value;
  response?: Value;
  metadata?: Record<string, string>;
}

export interface HandleOptions {
  /** Schemas and metadata per method name (as written in the object, e.g. "hello"). */
  endpoints?: Record<string, EndpointDescription>;
  /** Callable but never advertised in the registry (like upstream's Debug handler). */
  internal?: boolean;
}

export interface RegisteredEndpoint {
  endpoint: Endpoint;
  method: HandlerMethod;
  internal: boolean;
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The methods of a plain object or class instance (prototype chain up to Object). */
export function handlerMethods(target: object): Map<string, HandlerMethod> {
  const out = new Map<string, HandlerMethod>();
  for (let o: object | null = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === "constructor" || out.has(key)) continue;
      const v = (target as Record<string, unknown>)[key];
      if (typeof v === "function") out.set(key, (v as HandlerMethod).bind(target));
    }
  }
  return out;
}

const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function buildEndpoints(name: string, target: object, options: HandleOptions = {}): RegisteredEndpoint[] {
  if (!VALID_NAME.test(name)) throw new Error(`handler name ${JSON.stringify(name)} must be an identifier such as "Say"`);
  const methods = handlerMethods(target);
  if (methods.size === 0) throw new Error(`handler ${name} has no methods`);
  const out: RegisteredEndpoint[] = [];
  for (const [key, method] of methods) {
    const d = options.endpoints?.[key] ?? options.endpoints?.[capitalize(key)];
    const endpointName = `${name}.${capitalize(key)}`;
    out.push({
      method,
      internal: options.internal ?? false,
      endpoint: {
        name: endpointName,
        // Upstream always has a Value here (Go reflection); a Go CLI reading
        // ours would crash on null, so unknown shapes are empty Values.
        request: d?.request ?? { name: "Request", type: "Request", values: null },
        response: d?.response ?? { name: "Response", type: "Response", values: null },
        // Upstream's extractor always makes the map, so Go writes {} here (seen from a real Go node, interop/).
        metadata: d?.metadata ?? {},
      },
    });
  }
  return out;
}

type Shape = { [field: string]: string | Value };

/**
 * A registry Value from a compact description:
 * shape("Request", { name: "string", sub: shape("Sub", { id: "int64" }) }).
 */
export function shape(type: string, fields: Shape, name = type): Value {
  const values = Object.entries(fields).map(([field, t]) =>
    typeof t === "string" ? { name: field, type: t, values: null } : { ...t, name: field });
  return { name, type, values: values.length ? values : null };
}
