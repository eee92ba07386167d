/**
 * The one place that reads process.env. `loadConfig` is pure (env in, typed config out) so it
 * is unit-tested without touching the real environment; `getConfig()` is the process-wide
 * instance, read once. Bad values throw one ConfigError listing every problem found, one line
 * each, naming the variable and what is wrong with it. The one thing it may touch is
 * SECRETS_DIR: outside production, a secret that is not set is read from there, or generated
 * there on first start (lib/generated-secrets.ts).
 */
import fs from "node:fs";
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { asymmetricKeyProblem, JWT_ALGORITHMS, JWT_SECRET_MIN_BYTES, type JwtAlgorithm } from "./jwt-keys.ts";
import { generatedSecret, GeneratedSecretError } from "./generated-secrets.ts";
import { parseTrustProxy, type ForwardedHeader, type TrustProxy } from "./client-ip.ts";

/** Every service a node can run. `SERVICES` picks a subset; the default is all. */
export const ALL_SERVICES = ["api", "users", "products", "orders", "mail", "storage"] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  env: "development" | "production" | "test";
  nodeID: string | undefined;
  namespace: string;
  services: ServiceName[];
  /**
   * RabbitMQ: `url` as given (TRANSPORTER, one URL or a `;`-separated list of a cluster's nodes),
   * `urls` its members in order. Every connection to RabbitMQ takes any live one and fails over.
   */
  transporter: { url: string; urls: string[]; prefetch: number } | null;
  cacher: { type: "memory" } | { type: "redis"; url: string } | null;
  database: { dialect: "postgres"; url: string; poolMax: number } | { dialect: "sqlite"; storage: string };
  migrateOnStart: boolean;
  http: {
    port: number;
    host: string;
    bodyLimit: string;
    corsOrigins: string[];
    /** TRUST_PROXY: which hops in front of the gateway are proxies (null: none; the socket's peer is the client). */
    trustProxy: TrustProxy;
    /** TRUST_PROXY_HEADER: the one header those proxies write the client's address to. */
    forwardedHeader: ForwardedHeader;
  };
  log: { level: LogLevel; format: "json" | "pretty" };
  metrics: { enabled: boolean; port: number };
  /**
   * Distributed tracing (moleculer's tracer; the trace id is the request id): null when off,
   * spans printed by the console exporter, or sent to a Zipkin v2 collector (Zipkin, Jaeger,
   * Grafana Tempo, the OpenTelemetry Collector's zipkin receiver). `sampleRate`: the share of
   * requests traced, decided where a request starts (the gateway) and kept along its calls.
   */
  tracing:
    | { exporter: "console"; sampleRate: number }
    | {
        exporter: "zipkin";
        /** The collector's base URL, without credentials; spans go to <url>/api/v2/spans. */
        url: string;
        /** `Basic ...` from credentials in TRACING's URL (fetch refuses URLs carrying them); else null. */
        authorization: string | null;
        sampleRate: number;
      }
    | null;
  requestTimeoutMs: number;
  /** How often a producer's outbox relay looks for durable events not yet published (integrations/messaging/outbox.ts). */
  outboxPollMs: number;
  orders: {
    /** A pending order not paid within this many seconds is cancelled (its stock comes back); 0: never. */
    pendingTtlSec: number;
  };
  /**
   * How access tokens are signed and verified. Both happen in the users service (the
   * gateway asks `users.authenticate`), so only nodes running it use these keys.
   */
  jwt: {
    algorithm: JwtAlgorithm;
    /** HS256: the shared secret; null with RS256/ES256. */
    secret: string | null;
    /** RS256/ES256: signs; null on HS256 and on nodes without the users service that were given none. */
    privateKey: KeyObject | null;
    /** RS256/ES256: verifies (JWT_PUBLIC_KEY, or derived from the private key). */
    publicKey: KeyObject | null;
  };
  auth: {
    issuer: string;
    audience: string;
    accessTtlSec: number;
    refreshTtlSec: number;
    /** Key material for secrets at rest (TOTP secrets) and recovery-code hashing. */
    secretsKey: string;
    /** Where rate-limit counters live: shared Redis in a cluster, memory on one node. */
    rateLimitRedis: string | null;
    /** Multiplies every rate limit (e.g. 10 for load tests from one address). */
    rateLimitFactor: number;
  };
  /** Public base URL of the shop, for links in e-mails. */
  appUrl: string;
  mail: {
    /** smtp:// or smtps:// URL (auth in the URL); null: write .eml files to outboxDir. */
    smtpUrl: string | null;
    from: string;
    outboxDir: string;
    /** Delivery attempts before a message goes to the dead-letter queue. */
    maxAttempts: number;
    /** First retry delay; doubles on each further attempt. */
    retryBaseMs: number;
    /** Messages a mail node works on at once in a cluster (its prefetch on the durable queue). */
    concurrency: number;
  };
  /** Text messages (SMS second factor): loadSms below. */
  sms: SmsConfig;
  /** Sign-in with OpenID Connect providers: loadOidc below. */
  oidc: OidcConfig;
  storage: {
    /** s3 when S3_BUCKET is set, else a local folder behind the same interface. */
    driver: "s3" | "local";
    bucket: string | null;
    region: string;
    endpoint: string | null;
    /** Where clients reach S3 for presigned URLs, when not at `endpoint`; null: the same. */
    publicEndpoint: string | null;
    forcePathStyle: boolean;
    localDir: string;
    maxBytes: number;
    allowedTypes: string[];
    presignTtlSec: number;
  };
}

export class ConfigError extends Error {
  override name = "ConfigError";
  /** Every problem found, one line each; the message is these lines joined by newlines. */
  readonly problems: string[];
  constructor(problems: string | string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(list.join("\n"));
    this.problems = list;
  }
}

type Env = Record<string, string | undefined>;

/**
 * Small typed readers: each returns the parsed value or records a problem naming the variable
 * (the first one per variable) and goes on, so that one start-up reports every bad variable.
 * After a problem, the config being built is never returned: loadConfig throws them all.
 */
function reader(env: Env) {
  const problems = new Map<string, string>();
  const raw = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === "" ? undefined : v;
  };
  const problem = (name: string, message: string): void => {
    if (!problems.has(name)) problems.set(name, message);
  };
  // Typed `never` for its callers as when it threw: whatever they build after it is thrown away.
  const fail = (name: string, what: string, got: string): never => {
    problem(name, `${name} ${what} (got ${JSON.stringify(got)})`);
    return undefined as never;
  };
  return {
    problems,
    problem,
    /** Runs a reader that may throw a ConfigError: its problems are recorded and reading goes on. */
    guard<T>(read: () => T): T {
      try {
        return read();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const message of err.problems) problem(message, message);
        return undefined as never;
      }
    },
    raw,
    string(name: string, def: string): string {
      return raw(name) ?? def;
    },
    int(name: string, def: number, min: number, max: number): number {
      const v = raw(name);
      if (v === undefined) return def;
      const n = Number(v);
      if (!/^-?\d+$/.test(v) || n < min || n > max) return fail(name, `must be an integer from ${min} to ${max}`, v) ?? def;
      return n;
    },
    bool(name: string, def: boolean): boolean {
      const v = raw(name)?.toLowerCase();
      if (v === undefined) return def;
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off"].includes(v)) return false;
      return fail(name, "must be true or false", v) ?? def;
    },
    oneOf<T extends string>(name: string, allowed: readonly T[], def: T): T {
      const v = raw(name);
      if (v === undefined) return def;
      if (!(allowed as readonly string[]).includes(v)) return fail(name, `must be one of ${allowed.join(", ")}`, v) ?? def;
      return v as T;
    },
    url(name: string, protocols: string[]): string | undefined {
      const v = raw(name);
      if (v === undefined) return undefined;
      let protocol = "";
      try {
        protocol = new URL(v).protocol.replace(/:$/, "");
      } catch {
        fail(name, `must be a URL (${protocols.map((p) => `${p}://`).join(" or ")})`, redact(v));
      }
      if (!protocols.includes(protocol)) fail(name, `must use ${protocols.map((p) => `${p}://`).join(" or ")}`, redact(v));
      return v;
    },
    fail,
  };
}

/** Hide the passwords of a URL, or of every URL of a `;`-separated list, before they go into a message. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@;\s]*):[^@/;\s]*@/g, "//$1:***@");
}

/**
 * TRANSPORTER: one amqp:// or amqps:// URL, or several separated by `;` (the nodes of a
 * RabbitMQ cluster, the form moleculer's AMQP transporter takes). Each is checked; a message
 * about any of them shows none of their passwords.
 */
function amqpUrls(r: ReturnType<typeof reader>, name: string): string[] | undefined {
  const raw = r.raw(name);
  if (raw === undefined) return undefined;
  const urls = raw
    .split(";")
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) r.fail(name, "must be an amqp:// or amqps:// URL, or several separated by ;", redact(raw));
  for (const url of urls) {
    let protocol = "";
    try {
      protocol = new URL(url).protocol;
    } catch {
      r.fail(name, `must be a URL (amqp:// or amqps://)${urls.length > 1 ? `; ${JSON.stringify(redact(url))} is not` : ""}`, redact(raw));
    }
    if (protocol !== "amqp:" && protocol !== "amqps:") {
      const which = urls.length > 1 ? ` for every URL; ${JSON.stringify(redact(url))} does not` : "";
      r.fail(name, `must use amqp:// or amqps://${which}`, redact(raw));
    }
  }
  return urls;
}

export function loadConfig(env: Env = process.env): Config {
  const r = reader(env);
  let config: Config | undefined;
  try {
    config = readConfig(r);
  } catch (err) {
    // A check that still throws stops the reading: it is reported with what was found before it.
    // Anything else thrown after a problem is a consequence of that problem.
    if (err instanceof ConfigError) for (const message of err.problems) r.problem(message, message);
    else if (r.problems.size === 0) throw err;
  }
  if (r.problems.size > 0 || !config) throw new ConfigError([...r.problems.values()]);
  return config;
}

function readConfig(r: ReturnType<typeof reader>): Config {
  const nodeEnv = r.oneOf("NODE_ENV", ["development", "production", "test"] as const, "development");
  const production = nodeEnv === "production";

  const servicesRaw = r.raw("SERVICES");
  let services: ServiceName[] = [...ALL_SERVICES];
  if (servicesRaw === "none") {
    services = []; // a client-only node, e.g. a REPL joining a running cluster
  } else if (servicesRaw !== undefined && servicesRaw !== "*" && servicesRaw !== "all") {
    const names = servicesRaw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !(ALL_SERVICES as readonly string[]).includes(n));
    if (names.length === 0 || unknown.length > 0) {
      r.fail("SERVICES", `must be a comma-separated list of ${ALL_SERVICES.join(", ")} (or "all", or "none")`, servicesRaw);
    }
    services = [...new Set(names)] as ServiceName[];
  }

  const transporterUrls = amqpUrls(r, "TRANSPORTER");
  const cacherRaw = r.raw("CACHER") ?? "memory";
  let cacher: Config["cacher"];
  if (cacherRaw === "memory") cacher = { type: "memory" };
  else if (cacherRaw === "none") cacher = null;
  else cacher = { type: "redis", url: r.url("CACHER", ["redis", "rediss"])! };

  const databaseUrl = r.url("DATABASE_URL", ["postgres", "postgresql"]);
  if (production && !databaseUrl) {
    r.problem("DATABASE_URL", "DATABASE_URL is required when NODE_ENV=production (the SQLite default is for local use only)");
  }
  const database: Config["database"] = databaseUrl
    ? { dialect: "postgres", url: databaseUrl, poolMax: r.int("DB_POOL_MAX", 10, 1, 1000) }
    : { dialect: "sqlite", storage: r.string("SQLITE_PATH", "data/shop.sqlite") };

  // No secret ships with the code: production requires them; elsewhere each installation generates its own.
  const secretsDir = r.string("SECRETS_DIR", "data/secrets");
  const secret = (name: "JWT_SECRET" | "SECRETS_KEY"): string => {
    const configured = r.raw(name);
    if (configured !== undefined) return configured;
    if (production) throw new ConfigError(`${name} must be set when NODE_ENV=production (secrets are generated only outside production)`);
    try {
      return generatedSecret(secretsDir, name);
    } catch (err) {
      if (err instanceof GeneratedSecretError)
        throw new ConfigError(`${name} is not set and no secret can be kept in SECRETS_DIR: ${err.message}`);
      throw err;
    }
  };
  // Nothing but access tokens uses JWT_SECRET (TOTP secrets and recovery codes use SECRETS_KEY).
  const jwtConfig = r.guard(() => loadJwtKeys(r, services, secret));
  const secretsKey = r.guard(() => secret("SECRETS_KEY")) ?? "";
  if (Buffer.byteLength(secretsKey) < 32) {
    r.problem("SECRETS_KEY", `SECRETS_KEY must be at least 32 bytes (got ${Buffer.byteLength(secretsKey)})`);
  }
  const rateLimitRaw = r.raw("RATE_LIMIT_STORE");
  const rateLimitRedis =
    rateLimitRaw === undefined
      ? cacher?.type === "redis"
        ? cacher.url
        : null
      : rateLimitRaw === "memory"
        ? null
        : r.url("RATE_LIMIT_STORE", ["redis", "rediss"])!;

  const pendingTtl = r.int("PENDING_ORDER_TTL", 0, 0, 90 * 86_400);
  if (pendingTtl > 0 && pendingTtl < 60) r.fail("PENDING_ORDER_TTL", "must be 0 (never) or at least 60 seconds", String(pendingTtl));

  const trustProxy = parseTrustProxy(r.raw("TRUST_PROXY"));
  if (trustProxy && "error" in trustProxy) r.fail("TRUST_PROXY", trustProxy.error, r.raw("TRUST_PROXY")!);

  const appUrl = (r.url("APP_URL", ["http", "https"]) ?? `http://localhost:${r.int("PORT", 3000, 0, 65535)}`).replace(/\/$/, "");
  const corsRaw = r.raw("CORS_ORIGINS");
  const bodyLimit = r.string("BODY_LIMIT", "1mb");
  if (!/^\d+(b|kb|mb)$/i.test(bodyLimit)) r.fail("BODY_LIMIT", "must be a size such as 512kb or 1mb", bodyLimit);

  return {
    env: nodeEnv,
    nodeID: r.raw("NODE_ID"),
    namespace: r.string("NAMESPACE", "shop"),
    services,
    transporter: transporterUrls
      ? { url: transporterUrls.join(";"), urls: transporterUrls, prefetch: r.int("AMQP_PREFETCH", 100, 1, 65535) }
      : null,
    cacher,
    database,
    migrateOnStart: r.bool("MIGRATE_ON_START", database.dialect === "sqlite"),
    http: {
      port: r.int("PORT", 3000, 0, 65535),
      host: r.string("HOST", "0.0.0.0"),
      bodyLimit,
      corsOrigins: corsRaw
        ? corsRaw
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean)
        : [],
      trustProxy: trustProxy as TrustProxy,
      forwardedHeader: r.oneOf("TRUST_PROXY_HEADER", ["x-forwarded-for", "forwarded"] as const, "x-forwarded-for"),
    },
    log: {
      level: r.oneOf("LOG_LEVEL", LOG_LEVELS, "info"),
      format: r.oneOf("LOG_FORMAT", ["json", "pretty"] as const, production ? "json" : "pretty"),
    },
    // A node without services (a REPL joining a cluster) has nothing to report: metrics are off
    // unless asked for, so it does not take a cluster node's METRICS_PORT (EADDRINUSE).
    metrics: { enabled: r.bool("METRICS", services.length > 0), port: r.int("METRICS_PORT", 3030, 0, 65535) },
    tracing: loadTracing(r, production),
    requestTimeoutMs: r.int("REQUEST_TIMEOUT_MS", 10_000, 100, 600_000),
    outboxPollMs: r.int("OUTBOX_POLL_MS", 2000, 50, 600_000),
    orders: { pendingTtlSec: pendingTtl },
    jwt: jwtConfig,
    auth: {
      issuer: r.string("JWT_ISSUER", "moleculer-shop"),
      audience: r.string("JWT_AUDIENCE", "moleculer-shop-api"),
      accessTtlSec: r.int("ACCESS_TOKEN_TTL", 900, 60, 86_400),
      refreshTtlSec: r.int("REFRESH_TOKEN_TTL", 30 * 86_400, 300, 365 * 86_400),
      secretsKey,
      rateLimitRedis,
      rateLimitFactor: r.int("RATE_LIMIT_FACTOR", 1, 1, 10_000),
    },
    mail: {
      smtpUrl: r.url("SMTP_URL", ["smtp", "smtps"]) ?? null,
      from: r.string("MAIL_FROM", "Moleculer Shop <no-reply@shop.localhost>"),
      outboxDir: r.string("MAIL_OUTBOX_DIR", "data/outbox"),
      maxAttempts: r.int("MAIL_MAX_ATTEMPTS", 5, 1, 100),
      retryBaseMs: r.int("MAIL_RETRY_BASE_MS", 1000, 10, 3_600_000),
      concurrency: r.int("MAIL_CONCURRENCY", 100, 1, 1000),
    },
    storage: {
      driver: r.raw("S3_BUCKET") ? "s3" : "local",
      bucket: r.raw("S3_BUCKET") ?? null,
      region: r.string("S3_REGION", "us-east-1"),
      endpoint: r.url("S3_ENDPOINT", ["http", "https"]) ?? null,
      publicEndpoint: r.url("S3_PUBLIC_ENDPOINT", ["http", "https"]) ?? null,
      forcePathStyle: r.bool("S3_FORCE_PATH_STYLE", r.raw("S3_ENDPOINT") !== undefined),
      localDir: r.string("STORAGE_DIR", "data/files"),
      maxBytes: r.int("UPLOAD_MAX_BYTES", 100 * 1024 * 1024, 1, 5 * 1024 ** 4),
      allowedTypes: r
        .string("UPLOAD_ALLOWED_TYPES", "image/jpeg,image/png,image/webp,image/gif,application/pdf,text/plain")
        .split(",")
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
      presignTtlSec: r.int("PRESIGN_TTL", 300, 10, 7 * 86_400),
    },
    appUrl,
    sms: loadSms(r),
    oidc: loadOidc(r, appUrl),
  };
}

/**
 * TRACING: off (default) | console | the http(s):// base URL of a Zipkin v2 collector (a URL
 * ending in /api/v2/spans is taken too). TRACING_SAMPLE_RATE: 0..1; default 1, except 0.1 when
 * sending to a collector with NODE_ENV=production. The rate is checked even while tracing is off,
 * so a typo does not wait for the day tracing is turned on.
 */
function loadTracing(r: ReturnType<typeof reader>, production: boolean): Config["tracing"] {
  const rateRaw = r.raw("TRACING_SAMPLE_RATE");
  let rate: number | undefined;
  if (rateRaw !== undefined) {
    rate = Number(rateRaw);
    if (!/^(\d+(\.\d*)?|\.\d+)$/.test(rateRaw) || rate > 1) r.fail("TRACING_SAMPLE_RATE", "must be a number from 0 to 1", rateRaw);
  }
  const raw = r.raw("TRACING");
  if (raw === undefined || raw === "off") return null;
  if (raw === "console") return { exporter: "console", sampleRate: rate ?? 1 };
  const expected = "must be off, console or a Zipkin collector URL (http:// or https://)";
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    /* refused below */
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) return r.fail("TRACING", expected, redact(raw));
  if (url.search || url.hash) return r.fail("TRACING", "must be the collector's URL without a query or fragment", redact(raw));
  let authorization: string | null = null;
  if (url.username || url.password) {
    authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  const base = url.href.replace(/\/+$/, "").replace(/\/api\/v2\/spans$/, "");
  return { exporter: "zipkin", url: base, authorization, sampleRate: rate ?? (production ? 0.1 : 1) };
}

/** `\n` escapes (how PEMs often travel in one-line environment variables) become newlines. */
function pemText(value: string): string {
  return value.replace(/\\r\\n|\\n/g, "\n").replace(/\r\n/g, "\n");
}

/** A PEM from NAME or from the file NAME_FILE (not both), with the variable it came from; undefined when neither is set. */
function pemFrom(r: ReturnType<typeof reader>, name: string): { pem: string; from: string } | undefined {
  const inline = r.raw(name);
  const file = r.raw(`${name}_FILE`);
  if (inline !== undefined && file !== undefined) throw new ConfigError(`${name} and ${name}_FILE are both set: give the key one way`);
  if (inline !== undefined) return { pem: pemText(inline), from: name };
  if (file === undefined) return undefined;
  try {
    return { pem: fs.readFileSync(file, "utf8"), from: `${name}_FILE` };
  } catch (err) {
    throw new ConfigError(`${name}_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"}: ${file})`);
  }
}

/**
 * JWT_ALGORITHM and its keys. HS256 (default): JWT_SECRET, >= 32 bytes, required in
 * production on every node, generated under SECRETS_DIR elsewhere when not set. RS256/ES256: JWT_PRIVATE_KEY on nodes running the
 * users service (they sign and verify), JWT_PUBLIC_KEY optional (derived from the private
 * key; checked against it when both are given); JWT_SECRET is then not used (nothing else
 * uses it) and not required. Error messages never quote key material.
 */
function loadJwtKeys(r: ReturnType<typeof reader>, services: ServiceName[], secretOf: (name: "JWT_SECRET") => string): Config["jwt"] {
  const algorithm = r.oneOf("JWT_ALGORITHM", JWT_ALGORITHMS, "HS256");
  const privatePem = pemFrom(r, "JWT_PRIVATE_KEY");
  const publicPem = pemFrom(r, "JWT_PUBLIC_KEY");

  if (algorithm === "HS256") {
    // Keys without the algorithm would silently leave the node on HS256: say so instead.
    const stray = (privatePem ?? publicPem)?.from;
    if (stray) throw new ConfigError(`${stray} is set but JWT_ALGORITHM is HS256: set JWT_ALGORITHM=RS256 or ES256 to use keys`);
    const secret = secretOf("JWT_SECRET");
    if (Buffer.byteLength(secret) < JWT_SECRET_MIN_BYTES) {
      throw new ConfigError(`JWT_SECRET must be at least ${JWT_SECRET_MIN_BYTES} bytes (got ${Buffer.byteLength(secret)})`);
    }
    return { algorithm, secret, privateKey: null, publicKey: null };
  }

  const usable = (name: string, key: KeyObject) => {
    const problem = asymmetricKeyProblem(algorithm, key);
    if (problem) throw new ConfigError(`${name} ${problem}`);
    return key;
  };
  let privateKey: KeyObject | null = null;
  if (privatePem !== undefined) {
    try {
      privateKey = createPrivateKey(privatePem.pem);
    } catch {
      throw new ConfigError(`${privatePem.from} must be an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)`);
    }
    usable(privatePem.from, privateKey);
  }
  let publicKey: KeyObject | null = null;
  if (publicPem !== undefined) {
    // createPublicKey also accepts a private key (and derives its public half): refuse that,
    // so a private key is not copied to nodes that only need the public one.
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(publicPem.pem)) {
      throw new ConfigError(`${publicPem.from} holds a private key: give the public key (openssl pkey -pubout)`);
    }
    try {
      publicKey = createPublicKey(publicPem.pem);
    } catch {
      throw new ConfigError(`${publicPem.from} must be a PEM public key (SPKI or PKCS#1)`);
    }
    usable(publicPem.from, publicKey);
  }
  if (privateKey && publicKey) {
    const derived = createPublicKey(privateKey).export({ type: "spki", format: "der" });
    if (!derived.equals(publicKey.export({ type: "spki", format: "der" }))) {
      throw new ConfigError(`${publicPem!.from} does not match ${privatePem!.from}`);
    }
  }
  if (!privateKey && services.includes("users")) {
    throw new ConfigError(
      `JWT_PRIVATE_KEY (or JWT_PRIVATE_KEY_FILE) is required with JWT_ALGORITHM=${algorithm} on a node running the users service, ` +
        `which signs and verifies access tokens`,
    );
  }
  return { algorithm, secret: null, privateKey, publicKey: publicKey ?? (privateKey ? createPublicKey(privateKey) : null) };
}

export interface SmsConfig {
  /** outbox (default): JSON files in `outboxDir`; twilio: Twilio's Messaging API. */
  provider: "outbox" | "twilio";
  outboxDir: string;
  twilio: { accountSid: string; authToken: string; from: string | null; messagingServiceSid: string | null; apiUrl: string | null } | null;
  /** ISO 3166-1 alpha-2 codes of the countries codes are sent to; empty: every country. */
  countries: string[];
  /** How long a code works, and how many wrong tries kill it. */
  codeTtlSec: number;
  maxAttempts: number;
  /** Sends per hour per account, per phone number and per client IP (SMS pumping costs money). */
  sendsPerHour: { account: number; number: number; ip: number };
}

/**
 * SMS_PROVIDER: outbox (default, files under SMS_OUTBOX_DIR) | twilio, which needs
 * TWILIO_ACCOUNT_SID (AC…), TWILIO_AUTH_TOKEN and exactly one sender: TWILIO_FROM (an E.164
 * number or an alphanumeric sender id) or TWILIO_MESSAGING_SERVICE_SID (MG…). TWILIO_API_URL
 * moves the API (tests, egress proxies). The auth token never appears in an error message.
 */
function loadSms(r: ReturnType<typeof reader>): SmsConfig {
  const provider = r.oneOf("SMS_PROVIDER", ["outbox", "twilio"] as const, "outbox");
  const countriesRaw = r.raw("SMS_COUNTRIES");
  const countries = countriesRaw
    ? countriesRaw
        .split(",")
        .map((c) => c.trim().toUpperCase())
        .filter(Boolean)
    : [];
  if (countries.some((c) => !/^[A-Z]{2}$/.test(c))) {
    r.fail("SMS_COUNTRIES", "must be comma-separated ISO 3166-1 alpha-2 codes such as DE,FR,GB", countriesRaw!);
  }
  let twilio: SmsConfig["twilio"] = null;
  // Twilio settings without SMS_PROVIDER=twilio would leave the codes in the outbox folder: say so instead.
  const TWILIO_VARIABLES = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_URL"];
  const stray = TWILIO_VARIABLES.filter((name) => r.raw(name) !== undefined);
  if (provider === "outbox" && stray.length > 0 && !r.problems.has("SMS_PROVIDER")) {
    const what = `${stray.join(", ")} ${stray.length > 1 ? "are" : "is"} set`;
    r.problem(stray[0]!, `${what} but SMS_PROVIDER is outbox: set SMS_PROVIDER=twilio to send through Twilio`);
  }
  if (provider === "twilio") {
    const accountSid = r.raw("TWILIO_ACCOUNT_SID");
    if (!accountSid || !/^AC[0-9a-f]{32}$/i.test(accountSid)) {
      r.fail("TWILIO_ACCOUNT_SID", "must be the account's SID (AC and 32 hex digits) when SMS_PROVIDER=twilio", accountSid ?? "");
    }
    const authToken = r.raw("TWILIO_AUTH_TOKEN");
    if (!authToken) r.problem("TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN is required when SMS_PROVIDER=twilio");
    const from = r.raw("TWILIO_FROM") ?? null;
    const messagingServiceSid = r.raw("TWILIO_MESSAGING_SERVICE_SID") ?? null;
    if ((from === null) === (messagingServiceSid === null)) {
      r.problem("TWILIO_FROM", "SMS_PROVIDER=twilio needs exactly one sender: TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID");
    }
    if (from !== null && !/^(\+[1-9][0-9]{1,14}|(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11})$/.test(from)) {
      const what = "an E.164 number (+14155550100) or an alphanumeric sender id (up to 11 letters, digits, spaces; a letter at least)";
      r.fail("TWILIO_FROM", `must be ${what}`, from);
    }
    if (messagingServiceSid !== null && !/^MG[0-9a-f]{32}$/i.test(messagingServiceSid)) {
      r.fail("TWILIO_MESSAGING_SERVICE_SID", "must be MG and 32 hex digits", messagingServiceSid);
    }
    const apiUrl = r.url("TWILIO_API_URL", ["http", "https"]) ?? null;
    twilio = { accountSid: accountSid ?? "", authToken: authToken ?? "", from, messagingServiceSid, apiUrl };
  }
  return {
    provider,
    outboxDir: r.string("SMS_OUTBOX_DIR", "data/sms-outbox"),
    twilio,
    countries,
    codeTtlSec: r.int("SMS_CODE_TTL", 300, 60, 900),
    maxAttempts: r.int("SMS_CODE_ATTEMPTS", 5, 1, 10),
    sendsPerHour: {
      account: r.int("SMS_SENDS_PER_ACCOUNT", 5, 1, 1000),
      number: r.int("SMS_SENDS_PER_NUMBER", 5, 1, 1000),
      ip: r.int("SMS_SENDS_PER_IP", 20, 1, 100_000),
    },
  };
}

export interface OidcProviderConfig {
  /** The id in the URL (/api/auth/oidc/{id}) and in OIDC_PROVIDERS. */
  id: string;
  /** What a sign-in button says. */
  name: string;
  issuer: string;
  clientId: string;
  /** Empty for a public client (PKCE only, no client authentication). */
  clientSecret: string | null;
  scopes: string[];
  /** Where the provider sends the browser back: <OIDC_REDIRECT_BASE_URL>/<id>/callback. */
  redirectUri: string;
}

export interface OidcConfig {
  providers: OidcProviderConfig[];
}

/** http:// is for a provider on this machine only (a local Keycloak, tests); anywhere else it must be https://. */
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * OIDC_PROVIDERS: comma-separated ids (lower case letters, digits, dashes), each with
 * OIDC_<ID>_ISSUER, OIDC_<ID>_CLIENT_ID, OIDC_<ID>_CLIENT_SECRET (optional: a public client),
 * OIDC_<ID>_SCOPES (default "openid email profile"; openid and email are required) and
 * OIDC_<ID>_NAME; <ID> is the id in upper case with dashes as underscores.
 * OIDC_REDIRECT_BASE_URL: default APP_URL + /api/auth/oidc.
 */
function loadOidc(r: ReturnType<typeof reader>, appUrl: string): OidcConfig {
  const raw = r.raw("OIDC_PROVIDERS");
  const base = (r.url("OIDC_REDIRECT_BASE_URL", ["http", "https"]) ?? `${appUrl}/api/auth/oidc`).replace(/\/$/, "");
  if (raw === undefined) return { providers: [] };
  const ids = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (ids.length === 0 || ids.some((id) => !/^[a-z0-9][a-z0-9-]{0,31}$/.test(id)) || new Set(ids).size !== ids.length) {
    // No follow-up complaints about the variables of ids that are not ids.
    const what = "must be distinct ids of lower-case letters, digits and dashes, comma-separated (e.g. google,corp-sso)";
    return r.fail("OIDC_PROVIDERS", what, raw);
  }
  const providers = ids.map((id): OidcProviderConfig => {
    const v = (name: string) => `OIDC_${id.toUpperCase().replace(/-/g, "_")}_${name}`;
    const issuer = r.url(v("ISSUER"), ["http", "https"]) ?? "";
    if (!issuer) r.problem(v("ISSUER"), `${v("ISSUER")} is required for the OpenID provider "${id}"`);
    const issuerUrl = URL.parse(issuer);
    if (issuerUrl?.protocol === "http:" && !LOOPBACK.has(issuerUrl.hostname)) {
      r.fail(v("ISSUER"), "must use https:// (http:// only on localhost)", issuer);
    }
    const clientId = r.raw(v("CLIENT_ID")) ?? "";
    if (!clientId) r.problem(v("CLIENT_ID"), `${v("CLIENT_ID")} is required for the OpenID provider "${id}"`);
    const scopes = r
      .string(v("SCOPES"), "openid email profile")
      .split(/[\s,]+/)
      .filter(Boolean);
    if (!scopes.includes("openid") || !scopes.includes("email")) r.fail(v("SCOPES"), "must include openid and email", scopes.join(" "));
    return {
      id,
      name: r.string(v("NAME"), id.charAt(0).toUpperCase() + id.slice(1)),
      issuer,
      clientId,
      clientSecret: r.raw(v("CLIENT_SECRET")) ?? null,
      scopes,
      redirectUri: `${base}/${id}/callback`,
    };
  });
  return { providers };
}

let cached: Config | undefined;
/** The process-wide configuration, read once. */
export function getConfig(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}
