import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { loadConfig, ConfigError, ALL_SERVICES, DEV_JWT_SECRET, redact } from "../../lib/config.ts";
import { tracing, zipkinTraceId } from "../../moleculer.config.ts";

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
    expect(cfg.jwt).toEqual({ algorithm: "HS256", secret: DEV_JWT_SECRET, privateKey: null, publicKey: null });
  });

  test("unpaid orders: kept forever by default; PENDING_ORDER_TTL is 0 or at least a minute", () => {
    expect(loadConfig({}).orders.pendingTtlSec).toBe(0);
    expect(loadConfig({ PENDING_ORDER_TTL: "3600" }).orders.pendingTtlSec).toBe(3600);
    expect(loadConfig({ OUTBOX_POLL_MS: "500" }).outboxPollMs).toBe(500);
    expect(() => loadConfig({ PENDING_ORDER_TTL: "30" })).toThrow('PENDING_ORDER_TTL must be 0 (never) or at least 60 seconds (got "30")');
    expect(() => loadConfig({ PENDING_ORDER_TTL: "-1" })).toThrow(ConfigError);
    expect(() => loadConfig({ PENDING_ORDER_TTL: "1h" })).toThrow(/PENDING_ORDER_TTL must be an integer/);
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
    expect(cfg.transporter).toEqual({ url: "amqp://guest:guest@127.0.0.1:5672", urls: ["amqp://guest:guest@127.0.0.1:5672"], prefetch: 100 });
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

  test("every bad variable is reported at once, one line each, in the order they are read", () => {
    let error: unknown;
    try {
      loadConfig({
        NODE_ENV: "production",
        PORT: "abc",
        TRANSPORTER: "not a url",
        LOG_LEVEL: "loud",
        JWT_SECRET: "short",
        SECRETS_KEY: "y".repeat(40),
        METRICS: "maybe",
        TRACING: "jaeger",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems).toEqual([
      'TRANSPORTER must be a URL (amqp:// or amqps://) (got "not a url")', // once, though two checks fail
      "DATABASE_URL is required when NODE_ENV=production (the SQLite default is for local use only)",
      "JWT_SECRET must be at least 32 bytes (got 5)",
      'PORT must be an integer from 0 to 65535 (got "abc")',
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace (got "loud")',
      'METRICS must be true or false (got "maybe")',
      'TRACING must be off, console or a Zipkin collector URL (http:// or https://) (got "jaeger")',
    ]);
    expect(message).toBe(problems.join("\n"));
    // A bad value does not cause follow-up complaints about others that depend on it.
    // (An unknown JWT_ALGORITHM is read as the default, not as an algorithm that needs a key.)
    expect(() => loadConfig({ JWT_ALGORITHM: "HS512" })).toThrow(/^JWT_ALGORITHM must be one of HS256, RS256, ES256 \(got "HS512"\)$/);
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

  test("TRANSPORTER takes a ;-separated list of RabbitMQ nodes (amqp:// and amqps://)", () => {
    const list = " amqps://shop:s1@a.example/vh ; amqps://shop:s2@b.example/vh;amqp://shop:s3@10.0.0.3:5672; ";
    expect(loadConfig({ TRANSPORTER: list }).transporter).toEqual({
      url: "amqps://shop:s1@a.example/vh;amqps://shop:s2@b.example/vh;amqp://shop:s3@10.0.0.3:5672",
      urls: ["amqps://shop:s1@a.example/vh", "amqps://shop:s2@b.example/vh", "amqp://shop:s3@10.0.0.3:5672"],
      prefetch: 100,
    });
    expect(loadConfig({ TRANSPORTER: "amqps://u:p@host.example:5671/vhost?heartbeat=10" }).transporter?.urls).toEqual(["amqps://u:p@host.example:5671/vhost?heartbeat=10"]);
    expect(() => loadConfig({ TRANSPORTER: ";" })).toThrow(/^TRANSPORTER must be an amqp:\/\/ or amqps:\/\/ URL, or several separated by ;/);
  });

  test.each([
    ["amqp://u:first-secret@a;nats://u:second-secret@b;amqp://u:third-secret@c", /^TRANSPORTER must use amqp:\/\/ or amqps:\/\/ for every URL; "nats:\/\/u:\*\*\*@b" does not/],
    ["amqp://u:first-secret@a;amqp://u:second-secret@b;not a url", /^TRANSPORTER must be a URL \(amqp:\/\/ or amqps:\/\/\); "not a url" is not/],
  ])("a refused list names the bad member and shows no password of any: %s", (value, message) => {
    let error: Error | undefined;
    try {
      loadConfig({ TRANSPORTER: value });
    } catch (err) {
      error = err as Error;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(message);
    expect(error!.message).not.toMatch(/first-secret|second-secret|third-secret/);
    expect(error!.message).toContain("u:***@a;");
  });

  test("redact hides every password of a list, and leaves URLs without one alone", () => {
    expect(redact("amqps://a:x1@h1:5671/v;amqps://b:x2@h2:5671/v;amqp://h3")).toBe("amqps://a:***@h1:5671/v;amqps://b:***@h2:5671/v;amqp://h3");
    expect(redact("Cannot connect to amqp://u:p@h1 or amqp://u:q@h2")).toBe("Cannot connect to amqp://u:***@h1 or amqp://u:***@h2");
    expect(redact("redis://:secret@r:6379")).toBe("redis://:***@r:6379");
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

  describe("TRACING and TRACING_SAMPLE_RATE", () => {
    const PROD = { NODE_ENV: "production", DATABASE_URL: PG, JWT_SECRET: STRONG, SECRETS_KEY: "y".repeat(40) };

    test("off by default and with TRACING=off; console samples every request unless told", () => {
      expect(loadConfig({}).tracing).toBeNull();
      expect(loadConfig({ TRACING: "off", TRACING_SAMPLE_RATE: "0.5" }).tracing).toBeNull();
      expect(loadConfig({ TRACING: "console" }).tracing).toEqual({ exporter: "console", sampleRate: 1 });
      expect(loadConfig({ ...PROD, TRACING: "console" }).tracing).toEqual({ exporter: "console", sampleRate: 1 });
      expect(loadConfig({ TRACING: "console", TRACING_SAMPLE_RATE: "0.25" }).tracing).toEqual({ exporter: "console", sampleRate: 0.25 });
    });

    test("a Zipkin v2 collector URL: every request sampled, 1 in 10 in production unless told", () => {
      expect(loadConfig({ TRACING: "http://127.0.0.1:9411" }).tracing).toEqual({ exporter: "zipkin", url: "http://127.0.0.1:9411", authorization: null, sampleRate: 1 });
      expect(loadConfig({ ...PROD, TRACING: "http://jaeger:9411" }).tracing).toMatchObject({ url: "http://jaeger:9411", sampleRate: 0.1 });
      expect(loadConfig({ ...PROD, TRACING: "http://jaeger:9411", TRACING_SAMPLE_RATE: "1" }).tracing?.sampleRate).toBe(1);
      expect(loadConfig({ TRACING: "http://a:9411", TRACING_SAMPLE_RATE: "0" }).tracing?.sampleRate).toBe(0);
      expect(loadConfig({ TRACING: "http://a:9411", TRACING_SAMPLE_RATE: ".05" }).tracing?.sampleRate).toBe(0.05);
    });

    test("the spans endpoint, a trailing slash and a path prefix are taken; credentials become a header", () => {
      expect(loadConfig({ TRACING: "http://otel-collector:9411/api/v2/spans" }).tracing).toMatchObject({ url: "http://otel-collector:9411" });
      expect(loadConfig({ TRACING: "https://tempo.example/zipkin/" }).tracing).toMatchObject({ url: "https://tempo.example/zipkin" });
      const withAuth = loadConfig({ TRACING: "https://shop:s%3Acret@tempo.example/zipkin" }).tracing;
      expect(withAuth).toMatchObject({ url: "https://tempo.example/zipkin", authorization: `Basic ${Buffer.from("shop:s:cret").toString("base64")}` });
    });

    test.each([
      [{ TRACING: "jaeger" }, /^TRACING must be off, console or a Zipkin collector URL \(http:\/\/ or https:\/\/\) \(got "jaeger"\)$/],
      [{ TRACING: "true" }, /^TRACING must be off, console or a Zipkin collector URL/],
      [{ TRACING: "udp://jaeger:6832" }, /^TRACING must be off, console or a Zipkin collector URL/],
      [{ TRACING: "http://u:hunter2@zipkin:9411?x=1" }, /^TRACING must be the collector's URL without a query or fragment \(got "http:\/\/u:\*\*\*@zipkin:9411\?x=1"\)$/],
      [{ TRACING_SAMPLE_RATE: "1.5" }, /^TRACING_SAMPLE_RATE must be a number from 0 to 1 \(got "1.5"\)$/],
      [{ TRACING: "console", TRACING_SAMPLE_RATE: "-0.1" }, /^TRACING_SAMPLE_RATE must be a number from 0 to 1/],
      [{ TRACING: "console", TRACING_SAMPLE_RATE: "10%" }, /^TRACING_SAMPLE_RATE must be a number from 0 to 1/],
      [{ TRACING: "console", TRACING_SAMPLE_RATE: "1e-1" }, /^TRACING_SAMPLE_RATE must be a number from 0 to 1/],
    ])("%j is refused with one line naming the variable", (env, message) => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
      expect(() => loadConfig(env)).not.toThrow(/hunter2/);
    });

    test("broker options: off, or actions and events traced without params, meta or responses; stacks outside production", () => {
      expect(tracing(loadConfig({}))).toEqual({ enabled: false });
      const dev = tracing(loadConfig({ TRACING: "console", TRACING_SAMPLE_RATE: "0.5" }));
      expect(dev).toMatchObject({
        enabled: true,
        exporter: expect.objectContaining({ opts: expect.objectContaining({ width: 100 }) }),
        sampling: { rate: 0.5 },
        actions: true,
        events: true,
        stackTrace: true,
        tags: { action: { params: false, meta: false, response: false }, event: { params: false, meta: false } },
      });
      expect((dev as { errorFields: string[] }).errorFields).not.toContain("data");
      const prod = tracing(loadConfig({ ...PROD, TRACING: "http://zipkin:9411" }));
      expect(prod).toMatchObject({ enabled: true, sampling: { rate: 0.1 }, stackTrace: false });
      expect((prod as unknown as { exporter: { opts: { baseURL: string } } }).exporter.opts.baseURL).toBe("http://zipkin:9411");
    });

    test("the Zipkin trace id is the request id: a UUID without its dashes; any other id, a hash Zipkin accepts", () => {
      expect(zipkinTraceId("3F0C9A2E-4B1D-4C7A-9E5F-0123456789AB")).toBe("3f0c9a2e4b1d4c7a9e5f0123456789ab");
      expect(zipkinTraceId("463ac35c9f6413ad")).toBe("463ac35c9f6413ad");
      for (const id of ["lb-7f3a.trace:0001_ABC", "abc", "0000000000000000", "x".repeat(128)]) {
        expect(zipkinTraceId(id)).toMatch(/^[0-9a-f]{32}$/);
        expect(zipkinTraceId(id)).toBe(zipkinTraceId(id));
      }
      expect(zipkinTraceId("order-1")).not.toBe(zipkinTraceId("order-2"));
    });
  });

  describe("JWT_ALGORITHM=RS256 / ES256 keys", () => {
    const pkcs8 = (key: KeyObject) => key.export({ type: "pkcs8", format: "pem" }) as string;
    const spki = (key: KeyObject) => key.export({ type: "spki", format: "pem" }) as string;
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const der = (key: KeyObject | null) => key?.export({ type: "spki", format: "der" }).toString("base64");
    const PROD = { NODE_ENV: "production", DATABASE_URL: PG, SECRETS_KEY: "y".repeat(40) };

    test("ES256 with only the private key: the public key is derived; JWT_SECRET is not needed, even in production", () => {
      const cfg = loadConfig({ ...PROD, JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: pkcs8(ec.privateKey) });
      expect(cfg.jwt.algorithm).toBe("ES256");
      expect(cfg.jwt.secret).toBeNull();
      expect(cfg.jwt.privateKey?.asymmetricKeyType).toBe("ec");
      expect(der(cfg.jwt.publicKey)).toBe(der(ec.publicKey));
    });

    test("a PEM with literal \\n escapes (one-line env var), a SEC1 / PKCS#1 PEM, and a key file are accepted", () => {
      const oneLine = pkcs8(ec.privateKey).trim().replace(/\n/g, "\\n");
      expect(oneLine).not.toContain("\n");
      expect(der(loadConfig({ JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: oneLine }).jwt.publicKey)).toBe(der(ec.publicKey));
      const sec1 = ec.privateKey.export({ type: "sec1", format: "pem" }) as string;
      expect(loadConfig({ JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: sec1 }).jwt.privateKey).not.toBeNull();
      const pkcs1 = rsa.privateKey.export({ type: "pkcs1", format: "pem" }) as string;
      expect(loadConfig({ JWT_ALGORITHM: "RS256", JWT_PRIVATE_KEY: pkcs1, JWT_PUBLIC_KEY: spki(rsa.publicKey) }).jwt.algorithm).toBe("RS256");

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-jwt-keys-"));
      try {
        fs.writeFileSync(path.join(dir, "private.pem"), pkcs8(rsa.privateKey));
        fs.writeFileSync(path.join(dir, "public.pem"), spki(rsa.publicKey));
        const cfg = loadConfig({ JWT_ALGORITHM: "RS256", JWT_PRIVATE_KEY_FILE: path.join(dir, "private.pem"), JWT_PUBLIC_KEY_FILE: path.join(dir, "public.pem") });
        expect(der(cfg.jwt.publicKey)).toBe(der(rsa.publicKey));
        expect(() => loadConfig({ JWT_ALGORITHM: "RS256", JWT_PRIVATE_KEY_FILE: path.join(dir, "missing.pem") })).toThrow(
          /^JWT_PRIVATE_KEY_FILE cannot be read \(ENOENT: .*missing\.pem\)$/,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test("a node without the users service (the gateway) needs no key; given only the public key it keeps it", () => {
      expect(loadConfig({ ...PROD, JWT_ALGORITHM: "RS256", SERVICES: "api,products" }).jwt).toEqual({ algorithm: "RS256", secret: null, privateKey: null, publicKey: null });
      const cfg = loadConfig({ JWT_ALGORITHM: "RS256", SERVICES: "api", JWT_PUBLIC_KEY: spki(rsa.publicKey) });
      expect(der(cfg.jwt.publicKey)).toBe(der(rsa.publicKey));
      expect(cfg.jwt.privateKey).toBeNull();
    });

    const small = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const otherEc = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const encrypted = ec.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" }) as string;
    test.each([
      ["unknown algorithm", { JWT_ALGORITHM: "HS512" }, /^JWT_ALGORITHM must be one of HS256, RS256, ES256 \(got "HS512"\)$/],
      ["none", { JWT_ALGORITHM: "none" }, /^JWT_ALGORITHM must be one of HS256, RS256, ES256 \(got "none"\)$/],
      ["no key on a users node", { JWT_ALGORITHM: "ES256" }, /^JWT_PRIVATE_KEY \(or JWT_PRIVATE_KEY_FILE\) is required with JWT_ALGORITHM=ES256 on a node running the users service/],
      ["only the public key on a users node", { JWT_ALGORITHM: "ES256", SERVICES: "users", JWT_PUBLIC_KEY: spki(ec.publicKey) }, /^JWT_PRIVATE_KEY \(or JWT_PRIVATE_KEY_FILE\) is required/],
      ["not a PEM", { JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: "hunter2-not-a-key" }, /^JWT_PRIVATE_KEY must be an unencrypted PEM private key \(PKCS#8, PKCS#1 or SEC1\)$/],
      ["an encrypted private key", { JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: encrypted }, /^JWT_PRIVATE_KEY must be an unencrypted PEM private key/],
      ["a public key as the private key", { JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: spki(ec.publicKey) }, /^JWT_PRIVATE_KEY must be an unencrypted PEM private key/],
      ["a private key as the public key", { JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: pkcs8(ec.privateKey), JWT_PUBLIC_KEY: pkcs8(ec.privateKey) }, /^JWT_PUBLIC_KEY holds a private key: give the public key \(openssl pkey -pubout\)$/],
      ["a garbage public key", { JWT_ALGORITHM: "ES256", SERVICES: "api", JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" }, /^JWT_PUBLIC_KEY must be a PEM public key \(SPKI or PKCS#1\)$/],
      ["an EC key for RS256", { JWT_ALGORITHM: "RS256", JWT_PRIVATE_KEY: pkcs8(ec.privateKey) }, /^JWT_PRIVATE_KEY must be an RSA key for RS256 \(got ec\)$/],
      ["a 1024-bit RSA key", { JWT_ALGORITHM: "RS256", JWT_PRIVATE_KEY: pkcs8(small.privateKey) }, /^JWT_PRIVATE_KEY must be an RSA key of at least 2048 bits \(got 1024\)$/],
      ["an RSA key for ES256", { JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: pkcs8(rsa.privateKey) }, /^JWT_PRIVATE_KEY must be an EC P-256 key for ES256 \(got rsa\)$/],
      ["a P-384 key for ES256", { JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: pkcs8(p384.privateKey) }, /^JWT_PRIVATE_KEY must be an EC key on P-256 \(prime256v1\) for ES256 \(got secp384r1\)$/],
      ["a public key of the wrong type", { JWT_ALGORITHM: "ES256", SERVICES: "api", JWT_PUBLIC_KEY: spki(rsa.publicKey) }, /^JWT_PUBLIC_KEY must be an EC P-256 key for ES256 \(got rsa\)$/],
      ["a public key of another pair", { JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: pkcs8(ec.privateKey), JWT_PUBLIC_KEY: spki(otherEc.publicKey) }, /^JWT_PUBLIC_KEY does not match JWT_PRIVATE_KEY$/],
      ["both the key and its file", { JWT_ALGORITHM: "ES256", JWT_PRIVATE_KEY: pkcs8(ec.privateKey), JWT_PRIVATE_KEY_FILE: "/run/secrets/jwt.pem" }, /^JWT_PRIVATE_KEY and JWT_PRIVATE_KEY_FILE are both set: give the key one way$/],
      ["keys without the algorithm", { JWT_PRIVATE_KEY: pkcs8(ec.privateKey) }, /^JWT_PRIVATE_KEY is set but JWT_ALGORITHM is HS256: set JWT_ALGORITHM=RS256 or ES256 to use keys$/],
      ["a public key without the algorithm", { JWT_PUBLIC_KEY: spki(ec.publicKey) }, /^JWT_PUBLIC_KEY is set but JWT_ALGORITHM is HS256/],
    ] as const)("%s is refused with one line naming the variable", (_what, env, message) => {
      let error: unknown;
      try {
        loadConfig(env as Record<string, string>);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain("\n");
      expect((error as Error).message).not.toMatch(/BEGIN|hunter2/); // no key material in the message
    });

    test("HS256 stays as it was; with keys, JWT_SECRET is ignored", () => {
      expect(() => loadConfig({ JWT_ALGORITHM: "HS256", JWT_SECRET: "short" })).toThrow(/^JWT_SECRET must be at least 32 bytes \(got 5\)$/);
      expect(() => loadConfig({ ...PROD, JWT_ALGORITHM: "HS256" })).toThrow(/^JWT_SECRET must be set/);
      expect(loadConfig({ JWT_SECRET: STRONG }).jwt).toEqual({ algorithm: "HS256", secret: STRONG, privateKey: null, publicKey: null });
      // With keys, JWT_SECRET (still injected by an older deployment) is ignored rather than refused.
      expect(loadConfig({ JWT_ALGORITHM: "ES256", JWT_SECRET: "short", JWT_PRIVATE_KEY: pkcs8(ec.privateKey) }).jwt.secret).toBeNull();
    });
  });
});
