import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createLimiter } from "../../../integrations/authentication/rate-limit.ts";
import { describeWithServers } from "../../support/servers.ts";

describe("in memory", () => {
  test("allows `points` attempts per window, then refuses with the time left", async () => {
    const limiter = createLimiter("login", { points: 3, durationSec: 60 });
    expect(limiter.store).toBe("memory");
    for (let i = 0; i < 3; i++) expect(await limiter.consume("1.2.3.4")).toEqual({ allowed: true });
    const refused = await limiter.consume("1.2.3.4");
    expect(refused.allowed).toBe(false);
    expect(!refused.allowed && refused.retryAfterSec).toBeGreaterThanOrEqual(59);
    expect(!refused.allowed && refused.retryAfterSec).toBeLessThanOrEqual(60);
  });

  test("keys are counted separately", async () => {
    const limiter = createLimiter("keys", { points: 1, durationSec: 60 });
    expect(await limiter.consume("a")).toEqual({ allowed: true });
    expect((await limiter.consume("a")).allowed).toBe(false);
    expect(await limiter.consume("b")).toEqual({ allowed: true });
  });

  test("blockSec: once spent, the key stays blocked for longer than the window", async () => {
    const limiter = createLimiter("block", { points: 2, durationSec: 10, blockSec: 900 });
    await limiter.consume("k");
    await limiter.consume("k");
    const refused = await limiter.consume("k");
    expect(refused.allowed).toBe(false);
    expect(!refused.allowed && refused.retryAfterSec).toBeGreaterThan(890);
    expect(!refused.allowed && refused.retryAfterSec).toBeLessThanOrEqual(900);
  });

  test("reset forgets the key, block included", async () => {
    const limiter = createLimiter("reset", { points: 1, durationSec: 60, blockSec: 600 });
    await limiter.consume("k");
    expect((await limiter.consume("k")).allowed).toBe(false);
    await limiter.reset("k");
    expect(await limiter.consume("k")).toEqual({ allowed: true });
    expect((await limiter.consume("k")).allowed).toBe(false);
  });

  test("reward gives an attempt back", async () => {
    const limiter = createLimiter("reward", { points: 2, durationSec: 60 });
    await limiter.consume("k");
    await limiter.consume("k");
    await limiter.reward("k");
    expect(await limiter.consume("k")).toEqual({ allowed: true });
    expect((await limiter.consume("k")).allowed).toBe(false);
  });

  test.each([
    [{ points: 0, durationSec: 60 }],
    [{ points: 1.5, durationSec: 60 }],
    [{ points: 5, durationSec: 0 }],
    [{ points: 5, durationSec: 60, blockSec: -1 }],
  ])("rule %j is refused", (rule) => {
    expect(() => createLimiter("bad", rule)).toThrow(RangeError);
  });

  test("names are printable ASCII without spaces (namespaced names like shop:login-ip are fine)", () => {
    expect(createLimiter("shop:login-ip", { points: 1, durationSec: 1 }).name).toBe("shop:login-ip");
    expect(() => createLimiter("with space", { points: 1, durationSec: 1 })).toThrow(TypeError);
    expect(() => createLimiter("", { points: 1, durationSec: 1 })).toThrow(TypeError);
  });
});

test("an unreachable store is neither a refusal nor an error: the node counts by itself meanwhile", async () => {
  const offline = new Redis({ host: "127.0.0.1", port: 1, lazyConnect: true });
  try {
    const limiter = createLimiter("offline", { points: 2, durationSec: 60 }, offline);
    expect(limiter.store).toBe("redis");
    await expect(limiter.consume("k")).resolves.toEqual({ allowed: true });
    await expect(limiter.consume("k")).resolves.toEqual({ allowed: true });
    // Still a limit: the third attempt of the window is refused by the per-node count.
    await expect(limiter.consume("k")).resolves.toMatchObject({ allowed: false });
    await expect(limiter.reset("k")).resolves.toBeUndefined();
    await expect(limiter.consume("k")).resolves.toEqual({ allowed: true });
  } finally {
    offline.disconnect();
  }
});

const suite = await describeWithServers("redis");

suite("in Redis", () => {
  const name = `test-${randomBytes(4).toString("hex")}`;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis("redis://127.0.0.1:6379");
    await redis.ping();
  });

  afterAll(async () => {
    const keys = await redis.keys(`shop-rl-${name}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  test("counts under shop-rl-<name>:<key> with the window as TTL, shared by every limiter of that name", async () => {
    const a = createLimiter(name, { points: 3, durationSec: 60 }, redis);
    const b = createLimiter(name, { points: 3, durationSec: 60 }, redis); // another node
    expect(await a.consume("ip-1")).toEqual({ allowed: true });
    expect(await b.consume("ip-1")).toEqual({ allowed: true });
    expect(await redis.get(`shop-rl-${name}:ip-1`)).toBe("2");
    const ttl = await redis.pttl(`shop-rl-${name}:ip-1`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await a.consume("ip-1")).toEqual({ allowed: true });
    const refused = await b.consume("ip-1");
    expect(refused.allowed).toBe(false);
    expect(!refused.allowed && refused.retryAfterSec).toBeGreaterThanOrEqual(55);
    expect(await a.consume("ip-2")).toEqual({ allowed: true });
  });

  test("blockSec extends the key's life; reset deletes it", async () => {
    const limiter = createLimiter(`${name}-block`, { points: 1, durationSec: 10, blockSec: 600 }, redis);
    await limiter.consume("acct");
    const refused = await limiter.consume("acct");
    expect(!refused.allowed && refused.retryAfterSec).toBeGreaterThan(590);
    expect(await redis.pttl(`shop-rl-${name}-block:acct`)).toBeGreaterThan(590_000);
    await limiter.reset("acct");
    expect(await redis.exists(`shop-rl-${name}-block:acct`)).toBe(0);
    expect(await limiter.consume("acct")).toEqual({ allowed: true });
  });

  test("a namespaced name (as the users service builds them) keys as shop-rl-<namespace>:<name>:<key>", async () => {
    const limiter = createLimiter(`${name}:login-ip`, { points: 5, durationSec: 60 }, redis);
    await limiter.consume("10.0.0.1");
    expect(await redis.get(`shop-rl-${name}:login-ip:10.0.0.1`)).toBe("1");
  });

  test("reward gives an attempt back", async () => {
    const limiter = createLimiter(`${name}-reward`, { points: 1, durationSec: 60 }, redis);
    await limiter.consume("k");
    await limiter.reward("k");
    expect(await redis.get(`shop-rl-${name}-reward:k`)).toBe("0");
    expect(await limiter.consume("k")).toEqual({ allowed: true });
    expect((await limiter.consume("k")).allowed).toBe(false);
  });
});
