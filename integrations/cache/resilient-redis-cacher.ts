/**
 * moleculer's Redis cacher, for a Redis that may go away: a cache is never a reason to fail a
 * request. While Redis is unreachable every read is a miss (the action runs), writes and
 * invalidations are skipped, commands fail at once instead of queueing behind the reconnect,
 * and the outage is logged once, with its end. Invalidations missed meanwhile would leave stale
 * entries behind, so the cache of this namespace is cleared when Redis is back.
 */
import { Cachers, type ServiceBroker } from "moleculer";
import type { Redis } from "ioredis";
import { OutageLog } from "../../lib/outage-log.ts";

export class ResilientRedisCacher extends Cachers.Redis {
  #outage: OutageLog | undefined;

  override init(broker: ServiceBroker): void {
    super.init(broker);
    const client = (this as unknown as { client: Redis }).client;
    this.#outage = new OutageLog("Redis (cache)", "every read runs without the cache", this.logger);
    // Fail fast while disconnected: a miss now is better than a request waiting for Redis.
    Object.assign(client.options, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    client.removeAllListeners("error");
    client.on("error", (err: Error) => this.#outage!.down(err));
    client.on("ready", () => {
      if (this.#outage!.up()) void this.clean().catch((err: unknown) => this.#outage!.down(err));
    });
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
      return await op;
    } catch (err) {
      this.#outage?.down(err);
      return fallback;
    }
  }
}
