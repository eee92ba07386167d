/**
 * Attempt limits (login, password reset, second factor, ...) with rate-limiter-flexible:
 * a fixed window of `points` attempts per `durationSec` for each key, optionally blocking
 * the key for `blockSec` once it is spent (OWASP Authentication Cheat Sheet, "Protect
 * against automated attacks"). With a Redis client the counters are shared by every node
 * (atomic Lua INCR + EXPIRE); without one, or while Redis is unreachable, they live in this
 * process (a per-node limit). `KeySet` keeps keys that expire (the addresses an account recently
 * signed in from) in the same kind of store, with the same fallback.
 *
 * rate-limiter-flexible's index loads every store it has (Redis, Mongo, Postgres, DynamoDB, ...):
 * the three classes used here are required from their own files, the Redis one only when a Redis
 * client is given.
 */
import { createRequire } from "node:module";
import type { Redis } from "ioredis";
import type * as Flexible from "rate-limiter-flexible";
import type { RateLimiterAbstract } from "rate-limiter-flexible";
import { OutageLog } from "../../lib/outage-log.ts";

const require = createRequire(import.meta.url);
const RateLimiterMemory: typeof Flexible.RateLimiterMemory = require("rate-limiter-flexible/lib/RateLimiterMemory.js");
const RateLimiterRes: typeof Flexible.RateLimiterRes = require("rate-limiter-flexible/lib/RateLimiterRes.js");
/** The Redis store, loaded with the first limiter that has a Redis client. */
function redisLimiter(options: ConstructorParameters<typeof Flexible.RateLimiterRedis>[0]): Flexible.RateLimiterRedis {
  const RateLimiterRedis: typeof Flexible.RateLimiterRedis = require("rate-limiter-flexible/lib/RateLimiterRedis.js");
  return new RateLimiterRedis(options);
}

/**
 * How long a counter command may go unanswered (a Redis that is stuck, or packets dropped on the
 * way, with the connection still up) before it fails and the attempt is counted in this process
 * (the insurance limiter). A failed sign-in asks Redis three times, one after the other.
 */
export const COUNTER_COMMAND_TIMEOUT_MS = 500;

/**
 * The Redis client of the counters (RATE_LIMIT_STORE). ioredis (~20 MB) is imported only here,
 * when the counters live in Redis. While it reconnects the limiters do not use it
 * (`rejectIfRedisNotReady`); a command it does not answer fails after COUNTER_COMMAND_TIMEOUT_MS.
 * An outage is logged once, with its end.
 */
export async function connectCounterStore(url: string, logger: ConstructorParameters<typeof OutageLog>[2]): Promise<Redis> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, commandTimeout: COUNTER_COMMAND_TIMEOUT_MS });
  const outage = new OutageLog("Redis (rate limits)", "rate limits count per node", logger);
  redis.on("error", (err: Error) => outage.down(err));
  redis.on("ready", () => outage.up());
  return redis;
}

export interface LimitRule {
  points: number;
  durationSec: number;
  blockSec?: number;
}

export type LimitVerdict = { allowed: true } | { allowed: false; retryAfterSec: number };

export class Limiter {
  readonly name: string;
  readonly rule: Readonly<LimitRule>;
  readonly store: "redis" | "memory";
  #limiter: RateLimiterAbstract;

  constructor(name: string, rule: LimitRule, limiter: RateLimiterAbstract, store: "redis" | "memory") {
    this.name = name;
    this.rule = Object.freeze({ ...rule });
    this.#limiter = limiter;
    this.store = store;
  }

  /** Count one attempt for `key`. Refusal is a verdict; only a failing store throws. */
  async consume(key: string): Promise<LimitVerdict> {
    try {
      await this.#limiter.consume(key, 1);
      return { allowed: true };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { allowed: false, retryAfterSec: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
      throw err;
    }
  }

  /** Give `points` attempts back to `key` (e.g. an attempt that turned out not to count). */
  async reward(key: string, points = 1): Promise<void> {
    await this.#limiter.reward(key, points);
  }

  /** Forget `key` entirely, block included (e.g. after a successful login). */
  async reset(key: string): Promise<void> {
    await this.#limiter.delete(key);
  }
}

/** Redis keys are `shop-rl-<name>:<key>`; `name` is printable, without spaces (e.g. "shop:login-ip"). */
export function createLimiter(name: string, rule: LimitRule, redis?: Redis): Limiter {
  if (typeof name !== "string" || !/^[\x21-\x7e]{1,200}$/.test(name)) throw new TypeError(`Invalid limiter name ${JSON.stringify(name)}`);
  const { points, durationSec, blockSec = 0 } = rule;
  for (const [what, value, min] of [
    ["points", points, 1],
    ["durationSec", durationSec, 1],
    ["blockSec", blockSec, 0],
  ] as const) {
    if (!Number.isInteger(value) || value < min) throw new RangeError(`${what} must be an integer >= ${min} (got ${value})`);
  }
  const options = { keyPrefix: `shop-rl-${name}`, points, duration: durationSec, blockDuration: blockSec };
  if (redis) {
    // Fail fast while Redis is unreachable instead of queueing the request behind a reconnect,
    // and count in this process meanwhile (the insurance limiter): a per-node limit instead of a
    // shared one, never a refused login because the counter store is down.
    const insuranceLimiter = new RateLimiterMemory(options);
    return new Limiter(
      name,
      rule,
      redisLimiter({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter }),
      "redis",
    );
  }
  return new Limiter(name, rule, new RateLimiterMemory(options), "memory");
}

/** The longest a key set keeps a key: 24 days (timers in memory cannot wait longer). */
export const KEY_SET_MAX_TTL_SEC = 24 * 86_400;

/** Keys remembered for a while (e.g. `<account>|<address>` after a successful sign-in), in memory or Redis. */
export class KeySet {
  readonly name: string;
  readonly ttlSec: number;
  #store: RateLimiterAbstract;
  #fallback: RateLimiterAbstract | undefined;

  /** `fallback`: where `remember` writes while `store` (Redis) is unreachable; reads fall back through the store's insurance. */
  constructor(name: string, ttlSec: number, store: RateLimiterAbstract, fallback?: RateLimiterAbstract) {
    this.name = name;
    this.ttlSec = ttlSec;
    this.#store = store;
    this.#fallback = fallback;
  }

  async remember(key: string): Promise<void> {
    try {
      await this.#store.set(key, 1, this.ttlSec);
    } catch (err) {
      // rate-limiter-flexible's set() has no insurance: do it here, so a Redis outage never fails a sign-in.
      if (!this.#fallback) throw err;
      await this.#fallback.set(key, 1, this.ttlSec);
    }
  }

  async has(key: string): Promise<boolean> {
    const res = await this.#store.get(key);
    return !!res && res.consumedPoints > 0;
  }

  async forget(key: string): Promise<void> {
    await this.#store.delete(key);
  }
}

/** Redis keys are `shop-ks-<name>:<key>`, each expiring `ttlSec` after it was last remembered. */
export function createKeySet(name: string, ttlSec: number, redis?: Redis): KeySet {
  if (typeof name !== "string" || !/^[\x21-\x7e]{1,200}$/.test(name)) throw new TypeError(`Invalid key set name ${JSON.stringify(name)}`);
  // The memory store expires keys with setTimeout, which fires at once beyond 2^31 - 1 ms (~24.8 days).
  if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > KEY_SET_MAX_TTL_SEC)
    throw new RangeError(`ttlSec must be an integer from 1 to ${KEY_SET_MAX_TTL_SEC} (got ${ttlSec})`);
  const options = { keyPrefix: `shop-ks-${name}`, points: 1, duration: ttlSec };
  if (!redis) return new KeySet(name, ttlSec, new RateLimiterMemory(options));
  // As for limiters: while Redis is unreachable, this process remembers (a per-node set).
  const insuranceLimiter = new RateLimiterMemory(options);
  return new KeySet(
    name,
    ttlSec,
    redisLimiter({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter }),
    insuranceLimiter,
  );
}
