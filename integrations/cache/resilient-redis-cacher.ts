/**
 * moleculer's Redis cacher, for a Redis that may go away: a cache is never a reason to fail a
 * request. While Redis is unreachable every read is a miss (the action runs), writes and
 * invalidations are skipped, commands fail at once instead of queueing behind the reconnect,
 * and the outage is logged once, with its end. Invalidations missed meanwhile would leave stale
 * entries behind, so the cache of this namespace is cleared when Redis is back.
 *
 * A Redis that stops answering but keeps its connections (a stuck server, packets dropped on the
 * way) is an outage too: a command that has no answer after COMMAND_TIMEOUT_MS fails, so a read
 * waits that long at most and then runs the action. The cacher sits outside the call's own
 * timeout (moleculer.config.ts, BUILT_IN_MIDDLEWARES), so nothing else would bound that wait on
 * the node that runs the action. The first command answered afterwards ends the outage.
 */
import { Cachers, type ServiceBroker } from "moleculer";
import type { Redis } from "ioredis";
import { OutageLog } from "../../lib/outage-log.ts";

/** How long a cache command may wait for Redis's answer: far above Redis's own ~1 ms, far below a request's timeout. */
export const COMMAND_TIMEOUT_MS = 500;

export class ResilientRedisCacher extends Cachers.Redis {
  #outage: OutageLog | undefined;

  /** moleculer's Redis cacher keeps its ioredis client here (its typings do not name it). */
  get #client(): Redis {
    return (this as unknown as { client: Redis }).client;
  }

  override init(broker: ServiceBroker): void {
    super.init(broker);
    const client = this.#client;
    this.#outage = new OutageLog("Redis (cache)", "every read runs without the cache", this.logger);
    // Fail fast while disconnected or unanswered: a miss now is better than a request waiting for Redis.
    Object.assign(client.options, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: COMMAND_TIMEOUT_MS });
    client.removeAllListeners("error");
    client.on("error", (err: Error) => this.#outage!.down(err));
    client.on("ready", () => this.#back());
  }

  /** False from a failed command until Redis answers again. */
  get reachable(): boolean {
    return !this.#outage?.isDown;
  }

  /** Redis answers again: the outage's end is logged, and what it may have left stale is cleared. */
  #back(): void {
    if (this.#outage!.up()) void this.clean().catch((err: unknown) => this.#outage!.down(err));
  }

  override get(key: string): Promise<Record<string, unknown> | null> {
    return this.#guard(super.get(key), this.opts.missingResponse as null);
  }

  override getWithTTL(key: string): Promise<Record<string, unknown> | null> {
    return this.#guard(super.getWithTTL(key), { data: this.opts.missingResponse, ttl: null });
  }

  override set(key: string, data: unknown, ttl?: number): Promise<void> {
    return this.#guard(super.set(key, data, ttl), undefined);
  }

  override del(key: string | string[]): Promise<void> {
    return this.#guard(super.del(key), undefined);
  }

  override clean(match?: string | string[]): Promise<void> {
    return this.#guard(super.clean(match), undefined);
  }

  async #guard<T>(op: Promise<T>, fallback: T): Promise<T> {
    try {
      const result = await op;
      // Answered after commands timed out on a connection that stayed up (a stall): that outage is over.
      if (this.#outage?.isDown && this.#client.status === "ready") this.#back();
      return result;
    } catch (err) {
      this.#outage?.down(err);
      return fallback;
    }
  }
}
