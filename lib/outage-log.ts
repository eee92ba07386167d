/**
 * One log line when a dependency goes away and one when it is back, instead of one per failed
 * call or reconnect attempt (a Redis outage used to print several error lines a second).
 */
interface Logger {
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
}

export class OutageLog {
  #down = false;
  readonly #what: string;
  readonly #meanwhile: string;
  readonly #logger: Logger;

  /** `what` is unreachable; `meanwhile` says what the node does instead (e.g. "serving without the cache"). */
  constructor(what: string, meanwhile: string, logger: Logger) {
    this.#what = what;
    this.#meanwhile = meanwhile;
    this.#logger = logger;
  }

  get isDown(): boolean {
    return this.#down;
  }

  /** A failure: logged only if it is the first since the dependency was last seen working. */
  down(err?: unknown): void {
    if (this.#down) return;
    this.#down = true;
    const why = (err as Error | undefined)?.message ?? (err === undefined ? "" : String(err));
    this.#logger.warn(`${this.#what} is unreachable${why ? ` (${why})` : ""}; ${this.#meanwhile} until it is back.`);
  }

  /** A success: logged only if it ends an outage. Returns whether it did. */
  up(): boolean {
    if (!this.#down) return false;
    this.#down = false;
    this.#logger.info(`${this.#what} is reachable again.`);
    return true;
  }
}
