// Keeping one node in the registry, for Service and WebService alike:
// register at start (3 tries with backoff), renew every interval (one renewal
// at a time, so a slow registry never piles them up), and at stop wait for a
// renewal in flight before deregistering, so the node is not written back.
import type { Registry, Service as RegistryService } from "../registry/registry.js";
import type { Logger } from "../util/log.js";
import { exponentialBackoff, sleep } from "../util/backoff.js";

export interface RegistrationOptions {
  /** ms an entry lives without renewal. */
  ttl: number;
  /** ms between renewals; 0: never. */
  interval: number;
  log: Logger;
}

export class Registration {
  readonly #registry: Registry;
  readonly #record: () => RegistryService;
  readonly #options: RegistrationOptions;
  #ticker: NodeJS.Timeout | undefined;
  #renewal: Promise<void> | undefined;
  #stopping = false;

  /** record() is asked each time, so a renewal carries the node as it is then. */
  constructor(registry: Registry, record: () => RegistryService, options: RegistrationOptions) {
    this.#registry = registry;
    this.#record = record;
    this.#options = options;
  }

  async start(): Promise<void> {
    await this.#register(3);
    if (this.#options.interval <= 0 || this.#stopping) return;
    this.#ticker = setInterval(() => {
      if (this.#renewal || this.#stopping) return;
      this.#renewal = this.#register(1)
        .catch((err: Error) => this.#options.log.warn(`Server register error: ${err.message}`))
        .finally(() => (this.#renewal = undefined));
    }, this.#options.interval);
    this.#ticker.unref();
  }

  /** Stops renewing; resolves once a renewal in flight is done. */
  async halt(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#ticker);
    await this.#renewal;
  }

  /** halt(), then deregister; a failure is logged, not thrown (the node expires by its TTL). */
  async stop(): Promise<void> {
    await this.halt();
    try {
      await this.#registry.deregister(this.#record());
    } catch (err) {
      this.#options.log.warn(`Server deregister error: ${(err as Error).message}`);
    }
  }

  async #register(attempts: number): Promise<void> {
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(exponentialBackoff(i));
      try {
        await this.#registry.register(this.#record(), { ttl: this.#options.ttl });
        return;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }
}

/** Stop on SIGTERM/SIGINT; a second signal exits at once. Returns the function that unhooks it. */
export function stopOnSignals(name: string, log: Logger, stop: () => Promise<void>): () => void {
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(1); // a second signal means "now"
    log.info(`Received signal, stopping ${name}`);
    void stop();
  };
  process.on("SIGTERM", onSignal).on("SIGINT", onSignal);
  return () => {
    process.off("SIGTERM", onSignal).off("SIGINT", onSignal);
  };
}
