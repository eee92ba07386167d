/**
 * Attempt limits (login, password reset, second factor, ...) with rate-limiter-flexible:
 * a fixed window of `points` attempts per `durationSec` for each key, optionally blocking
 * the key for `blockSec` once it is spent (OWASP Authentication Cheat Sheet, "Protect
 * against automated attacks"). With a Redis client the counters are shared by every node
 * (atomic Lua INCR + EXPIRE); without one, or while Redis is unreachable, they live in this
 * process (a per-node limit).
 */
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";

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
  for (const [what, value, min] of [["points", points, 1], ["durationSec", durationSec, 1], ["blockSec", blockSec, 0]] as const) {
    if (!Number.isInteger(value) || value < min) throw new RangeError(`${what} must be an integer >= ${min} (got ${value})`);
  }
  const options = { keyPrefix: `shop-rl-${name}`, points, duration: durationSec, blockDuration: blockSec };
  if (redis) {
    // Fail fast while Redis is unreachable instead of queueing the request behind a reconnect,
    // and count in this process meanwhile (the insurance limiter): a per-node limit instead of a
    // shared one, never a refused login because the counter store is down.
    const insuranceLimiter = new RateLimiterMemory(options);
    return new Limiter(name, rule, new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter }), "redis");
  }
  return new Limiter(name, rule, new RateLimiterMemory(options), "memory");
}
