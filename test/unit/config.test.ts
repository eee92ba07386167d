import { loadConfig, ConfigError, ALL_SERVICES, DEV_JWT_SECRET, redact } from "../../lib/config.ts";

const PG = "postgres://shop:secret@db.example:5432/shop";
const STRONG = "x".repeat(40);

describe("loadConfig", () => {
  test("embedded defaults with nothing configured", () => {
    const cfg = loadConfig({});
    expect(cfg.services).toEqual([...ALL_SERVICES]);
    expect(cfg.transporter).toBeNull();
    expect(cfg.cacher).toEqual({ type: "memory" });
    expect(cfg.database).toEqual({ dialect: "sqlite", storage: "data/shop.sqlite" });
    expect(cfg.migrateOnStart).toBe(true);
    expect(cfg.http.port).toBe(3000);
    expect(cfg.log).toEqual({ level: "info", format: "pretty" });
    expect(cfg.jwtSecret).toBe(DEV_JWT_SECRET);
  });

  test("cluster settings", () => {
    const cfg = loadConfig({
      SERVICES: "api, products",
      TRANSPORTER: "amqp://guest:guest@127.0.0.1:5672",
      CACHER: "redis://127.0.0.1:6379",
      DATABASE_URL: PG,
      PORT: "8080",
      CORS_ORIGINS: "https://a.example, https://b.example",
    });
    expect(cfg.services).toEqual(["api", "products"]);
    expect(cfg.transporter).toEqual({ url: "amqp://guest:guest@127.0.0.1:5672", prefetch: 100 });
    expect(cfg.cacher).toEqual({ type: "redis", url: "redis://127.0.0.1:6379" });
    expect(cfg.database).toEqual({ dialect: "postgres", url: PG, poolMax: 10 });
    expect(cfg.migrateOnStart).toBe(false);
    expect(cfg.http.port).toBe(8080);
    expect(cfg.http.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
  });

  test.each([
    [{ PORT: "abc" }, /^PORT must be an integer from 0 to 65535 \(got "abc"\)$/],
    [{ PORT: "70000" }, /^PORT must be an integer/],
    [{ SERVICES: "api,billing" }, /^SERVICES must be a comma-separated list/],
    [{ TRANSPORTER: "nats://127.0.0.1:4222" }, /^TRANSPORTER must use amqp:\/\/ or amqps:\/\//],
    [{ TRANSPORTER: "not a url" }, /^TRANSPORTER must be a URL/],
    [{ CACHER: "memcached://x" }, /^CACHER must use redis:\/\//],
    [{ DATABASE_URL: "mysql://x/y" }, /^DATABASE_URL must use postgres:\/\//],
    [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace/],
    [{ METRICS: "maybe" }, /^METRICS must be true or false/],
    [{ JWT_SECRET: "short" }, /^JWT_SECRET must be at least 32 bytes \(got 5\)$/],
    [{ BODY_LIMIT: "lots" }, /^BODY_LIMIT must be a size/],
    [{ NODE_ENV: "staging" }, /^NODE_ENV must be one of development, production, test/],
  ])("%j is refused with one line naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  test("production refuses the insecure defaults", () => {
    expect(() => loadConfig({ NODE_ENV: "production", JWT_SECRET: STRONG })).toThrow(/^DATABASE_URL is required/);
    expect(() => loadConfig({ NODE_ENV: "production", DATABASE_URL: PG })).toThrow(/^JWT_SECRET must be set/);
    expect(() => loadConfig({ NODE_ENV: "production", DATABASE_URL: PG, JWT_SECRET: STRONG })).toThrow(/^SECRETS_KEY must be set/);
    const cfg = loadConfig({ NODE_ENV: "production", DATABASE_URL: PG, JWT_SECRET: STRONG, SECRETS_KEY: "y".repeat(40) });
    expect(cfg.log.format).toBe("json");
  });

  test("a password never appears in an error message", () => {
    expect(() => loadConfig({ TRANSPORTER: "http://user:hunter2@host" })).toThrow(/user:\*\*\*@/);
    expect(() => loadConfig({ TRANSPORTER: "http://user:hunter2@host" })).not.toThrow(/hunter2/);
    expect(redact("amqp://guest:guest@127.0.0.1:5672")).toBe("amqp://guest:***@127.0.0.1:5672");
  });

  test("auth settings: defaults, rate-limit store follows a Redis cacher unless set", () => {
    const cfg = loadConfig({});
    expect(cfg.auth).toMatchObject({ issuer: "moleculer-shop", audience: "moleculer-shop-api", accessTtlSec: 900, rateLimitRedis: null });
    expect(cfg.appUrl).toBe("http://localhost:3000");
    expect(loadConfig({ CACHER: "redis://r:6379" }).auth.rateLimitRedis).toBe("redis://r:6379");
    expect(loadConfig({ CACHER: "redis://r:6379", RATE_LIMIT_STORE: "memory" }).auth.rateLimitRedis).toBeNull();
    expect(() => loadConfig({ RATE_LIMIT_STORE: "mongodb://x" })).toThrow(/^RATE_LIMIT_STORE must use redis:\/\//);
    expect(() => loadConfig({ SECRETS_KEY: "short" })).toThrow(/^SECRETS_KEY must be at least 32 bytes/);
    expect(() => loadConfig({ ACCESS_TOKEN_TTL: "5" })).toThrow(/^ACCESS_TOKEN_TTL must be an integer from 60/);
    expect(loadConfig({ APP_URL: "https://shop.example/" }).appUrl).toBe("https://shop.example");
  });

  test("mail and storage settings", () => {
    const cfg = loadConfig({});
    expect(cfg.mail).toMatchObject({ smtpUrl: null, outboxDir: "data/outbox", maxAttempts: 5 });
    expect(cfg.storage).toMatchObject({ driver: "local", localDir: "data/files", bucket: null, forcePathStyle: false, presignTtlSec: 300 });
    const s3 = loadConfig({ S3_BUCKET: "shop", S3_ENDPOINT: "http://127.0.0.1:9000", UPLOAD_ALLOWED_TYPES: "image/png, IMAGE/JPEG", SMTP_URL: "smtps://u:p@mail.example:465" });
    expect(s3.storage).toMatchObject({ driver: "s3", bucket: "shop", endpoint: "http://127.0.0.1:9000", forcePathStyle: true, allowedTypes: ["image/png", "image/jpeg"] });
    expect(s3.mail.smtpUrl).toBe("smtps://u:p@mail.example:465");
    expect(() => loadConfig({ SMTP_URL: "http://mail" })).toThrow(/^SMTP_URL must use smtp:\/\/ or smtps:\/\//);
    expect(() => loadConfig({ UPLOAD_MAX_BYTES: "0" })).toThrow(/^UPLOAD_MAX_BYTES must be an integer/);
  });

  test("SERVICES=all, none and duplicates", () => {
    expect(loadConfig({ SERVICES: "none" }).services).toEqual([]);
    expect(loadConfig({ SERVICES: "all" }).services).toEqual([...ALL_SERVICES]);
    expect(loadConfig({ SERVICES: "products,products" }).services).toEqual(["products"]);
  });

  test("metrics: on by default, off by default on a node without services (a REPL joining a cluster)", () => {
    expect(loadConfig({}).metrics).toEqual({ enabled: true, port: 3030 });
    expect(loadConfig({ SERVICES: "users" }).metrics.enabled).toBe(true);
    expect(loadConfig({ SERVICES: "none" }).metrics).toEqual({ enabled: false, port: 3030 });
    expect(loadConfig({ SERVICES: "none", METRICS: "true", METRICS_PORT: "3099" }).metrics).toEqual({ enabled: true, port: 3099 });
    expect(loadConfig({ SERVICES: "users", METRICS: "false" }).metrics.enabled).toBe(false);
  });
});
