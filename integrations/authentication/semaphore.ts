/**
 * A counting semaphore: at most `max` tasks run at once, the rest wait in a FIFO queue.
 * Used to bound memory-hard password hashing (each argon2 run holds ~19 MiB and a
 * thread), so a burst of logins queues up instead of exhausting memory.
 */
export class Semaphore {
  readonly max: number;
  #active = 0;
  #queue: Array<() => void> = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`Semaphore max must be a positive integer (got ${max})`);
    this.max = max;
  }

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Run `task` once a slot is free; the slot is released however the task ends. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#active < this.max) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  #release(): void {
    const next = this.#queue.shift();
    // The slot passes straight to the next waiter, so `active` stays the same.
    if (next) next();
    else this.#active--;
  }
}
