import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createKeySet, createLimiter } from "../../../../integrations/authentication/rate-limit.ts";
import { describeWithServers } from "../../../support/servers.ts";
import { until } from "../../../../scripts/support/until.ts";

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

test("a key set on an unreachable Redis remembers in this process meanwhile: never an error at sign-in", async () => {
  const offline = new Redis({ host: "127.0.0.1", port: 1, lazyConnect: true });
  try {
    const known = createKeySet("offline-known", 600, offline);
    await expect(known.remember("u|10.0.0.1")).resolves.toBeUndefined();
    await expect(known.has("u|10.0.0.1")).resolves.toBe(true);
    await expect(known.has("u|10.0.0.2")).resolves.toBe(false);
    await expect(known.forget("u|10.0.0.1")).resolves.toBeUndefined();
    await expect(known.has("u|10.0.0.1")).resolves.toBe(false);
  } finally {
    offline.disconnect();
  }
});

test("a key set remembers keys until their time is up, in memory", async () => {
  const known = createKeySet("known", 1);
  expect(await known.has("u|1.2.3.4")).toBe(false);
  await known.remember("u|1.2.3.4");
  expect(await known.has("u|1.2.3.4")).toBe(true);
  expect(await known.has("u|5.6.7.8")).toBe(false);
  await until("the key's second to be up", async () => !(await known.has("u|1.2.3.4")), { timeoutMs: 3000, intervalMs: 50 });
  expect(await known.has("u|1.2.3.4")).toBe(false);
  await known.remember("k");
  await known.forget("k");
  expect(await known.has("k")).toBe(false);
  expect(() => createKeySet("bad name", 10)).toThrow(TypeError);
  expect(() => createKeySet("ok", 0)).toThrow(RangeError);
  // Beyond ~24.8 days an in-memory timer would fire at once and forget the key immediately.
  expect(() => createKeySet("ok", 25 * 86_400)).toThrow(RangeError);
  const long = createKeySet("long", 24 * 86_400);
  await long.remember("k");
  await new Promise((r) => setTimeout(r, 20)); // a fixed wait on purpose: it proves that the key is not forgotten at once
  expect(await long.has("k")).toBe(true);
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
    const keys = [...(await redis.keys(`shop-rl-${name}*`)), ...(await redis.keys(`shop-ks-${name}*`))];
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

  test("a key set lives under shop-ks-<name>:<key> with its TTL, shared by every node", async () => {
    const a = createKeySet(`${name}-known`, 600, redis);
    const b = createKeySet(`${name}-known`, 600, redis);
    await a.remember("user|10.0.0.1");
    expect(await b.has("user|10.0.0.1")).toBe(true);
    expect(await redis.pttl(`shop-ks-${name}-known:user|10.0.0.1`)).toBeGreaterThan(590_000);
    await b.forget("user|10.0.0.1");
    expect(await a.has("user|10.0.0.1")).toBe(false);
  });
});
