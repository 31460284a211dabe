// The Registry interface and upstream's JSON shapes (reference §1.1). Fields
// are never omitted: Go serialises nil maps and slices as null, and so do we.

export interface Value {
  name: string;
  type: string;
  values: Value[] | null;
}

export interface Endpoint {
  name: string;
  request: Value | null;
  response: Value | null;
  metadata: Record<string, string> | null;
}

export interface Node {
  id: string;
  address: string;
  metadata: Record<string, string> | null;
}

export interface Service {
  name: string;
  version: string;
  metadata: Record<string, string> | null;
  endpoints: Endpoint[] | null;
  nodes: Node[] | null;
}

export interface RegisterOptions {
  /** Time to live in milliseconds; 0 or absent means no expiry. */
  ttl?: number;
}

export type Action = "create" | "update" | "delete";

export interface Result {
  action: Action;
  /** The service with the node(s) the event is about. */
  service: Service;
}

export interface WatchOptions {
  /** Only events for this service name. */
  service?: string;
}

/** A stream of registry events. Iterate it, or call next(); stop() ends it. */
export interface Watcher extends AsyncIterable<Result> {
  /** The next event; rejects with WatcherStoppedError once stopped. */
  next(): Promise<Result>;
  stop(): void;
}

export class WatcherStoppedError extends Error {
  constructor() {
    super("watcher stopped");
    this.name = "WatcherStoppedError";
  }
}

export interface Registry {
  /** What goes into node metadata as registry=<name>: "local", "memory", "etcd", "mdns". */
  readonly name: string;
  register(service: Service, options?: RegisterOptions): Promise<void>;
  deregister(service: Service): Promise<void>;
  /** Every version of the service, each with its live nodes; [] when unknown. */
  getService(name: string): Promise<Service[]>;
  /** One entry per name and version, sorted by name; nodes may be left out. */
  listServices(): Promise<Service[]>;
  watch(options?: WatchOptions): Watcher;
  close(): Promise<void>;
}
