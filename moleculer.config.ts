/**
 * Broker options, built from the validated configuration (lib/config.ts).
 * Embedded mode (no TRANSPORTER) runs every service in one process without a transporter;
 * cluster mode connects nodes over RabbitMQ with settings benchmarked in bench/amqp-latency.ts.
 */
import { Transporters, type BrokerOptions, type Errors, type MetricRegistry } from "moleculer";
import { getConfig, redact, type Config } from "./lib/config.ts";
import { AccessMiddleware } from "./middlewares/access.ts";
import { OwnershipMiddleware } from "./middlewares/ownership.ts";
import { RetryPolicyMiddleware } from "./middlewares/retry-policy.ts";
import { ResilientRedisCacher } from "./integrations/cache/resilient-redis-cacher.ts";
import { TransitBackpressure } from "./middlewares/transit-backpressure.ts";
import { StreamSerializer } from "./integrations/messaging/stream-serializer.ts";
import { requestIdMixin, consoleFormatter } from "./lib/request-id.ts";
import { ConsoleExporter, ZipkinExporter, ZIPKIN_FLUSH_INTERVAL_S } from "./integrations/tracing/exporters.ts";
import { RequestContextMiddleware } from "./middlewares/request-context.ts";
import { joinLogArguments } from "./lib/log-arguments.ts";
import { ShopAmqpTransporter, type ShopAmqpOptions } from "./integrations/messaging/amqp-transporter.ts";
import { AMQP_HEARTBEAT_S } from "./integrations/messaging/amqp-connect.ts";

/**
 * The AMQP transporter of a node (integrations/messaging/amqp-transporter.ts: reconnects within
 * about a second, to any node of a `;`-separated list; a dead node's queues vanish with its
 * connection and a request sent to one comes back UNDELIVERED at once). `noDelay` turns Nagle
 * off: ~44 ms → ~1 ms per remote call.
 */
/** The name moleculer knows the shop's AMQP transporter by (Transporters.register). */
const SHOP_AMQP = "ShopAMQP";
// Its typings want an instance; moleculer's register takes the class (transporters/index.js).
Transporters.register(SHOP_AMQP, ShopAmqpTransporter as unknown as Parameters<typeof Transporters.register>[1]);

export function amqpTransporter(url: string, prefetch: number): BrokerOptions["transporter"] {
  // Options, not an instance: every broker given them makes a transporter of its own (tests and
  // benchmarks run several brokers in one process; a shared instance would serve only one).
  const options: ShopAmqpOptions = {
    url,
    socketOptions: { noDelay: true },
    prefetch,
    // Event and heartbeat messages are worthless once stale; do not let them pile up.
    eventTimeToLive: 30_000,
    heartbeatTimeToLive: 10_000,
    autoDeleteQueues: 60_000,
    heartbeatSeconds: AMQP_HEARTBEAT_S,
  };
  // moleculer's typings know only its own transporter names; it resolves registered ones too.
  return { type: SHOP_AMQP, options } as unknown as BrokerOptions["transporter"];
}

function logger(cfg: Config): BrokerOptions["logger"] {
  if (cfg.log.format === "json") {
    return {
      type: "Pino",
      // moleculer adds ns, nodeID, mod and svc to every line; times are ISO-8601 UTC; `requestId` inside a request
      // (lib/request-id.ts); errors and other arguments after the message are kept (lib/log-arguments.ts).
      options: {
        level: cfg.log.level,
        pino: {
          options: {
            base: {},
            timestamp: () => `,"time":"${new Date().toISOString()}"`,
            mixin: requestIdMixin,
            hooks: { logMethod: joinLogArguments },
          },
        },
      },
    };
  }
  // moleculer's "short" format, with the request id after the module name inside a request.
  return {
    type: "Console",
    options: {
      level: cfg.log.level,
      formatter: consoleFormatter as (type: string, args: unknown[]) => string[],
      colors: true,
      moduleColors: false,
    },
  };
}

function cacher(cfg: Config): BrokerOptions["cacher"] {
  if (!cfg.cacher) return undefined;
  if (cfg.cacher.type === "memory") return { type: "Memory", options: { ttl: 300, maxParamsLength: 200 } };
  // Redis that goes away costs cache hits, never requests (integrations/cache/resilient-redis-cacher.ts).
  // ioredis takes the URL as it is; moleculer's typings only know the options object.
  return new ResilientRedisCacher({
    ttl: 300,
    prefix: `${cfg.namespace}-cache`,
    redis: cfg.cacher.url as unknown as Record<string, never>,
    maxParamsLength: 200,
  });
}

/**
 * Tracing, off unless TRACING says otherwise. Action and event spans (moleculer-web's request
 * span, `GET /api/...`, is the root of each request's trace) carry names, nodes, timings, errors
 * and the request id, never params, meta or responses: those hold passwords, tokens and
 * addresses. An error's `data` is left out for the same reason (a validation error quotes the
 * value); its stack only outside production.
 */
export { zipkinTraceId, ZIPKIN_FLUSH_INTERVAL_S } from "./integrations/tracing/exporters.ts";

export function tracing(cfg: Config, flushIntervalS = ZIPKIN_FLUSH_INTERVAL_S): BrokerOptions["tracing"] {
  const t = cfg.tracing;
  if (!t) return { enabled: false };
  // moleculer takes an exporter instance as well as a name (tracing/exporters/index.js resolve); its typings know only names.
  const exporter =
    t.exporter === "console"
      ? (new ConsoleExporter({ colors: cfg.log.format === "pretty", width: 100 }) as unknown as { type: "Console" })
      : (new ZipkinExporter({
          baseURL: t.url,
          interval: flushIntervalS,
          headers: { "Content-Type": "application/json", ...(t.authorization ? { Authorization: t.authorization } : {}) },
        }) as unknown as { type: "Zipkin" });
  return {
    enabled: true,
    exporter,
    sampling: { rate: t.sampleRate },
    actions: true,
    events: true,
    errorFields: ["name", "message", "code", "type"],
    stackTrace: cfg.env !== "production",
    tags: { action: { params: false, meta: false, response: false }, event: { params: false, meta: false } },
  };
}

/**
 * Does `err` say that the called node is in trouble: down or refusing (503) or too slow (504)?
 * Not a client's bad request, nor a bug (500) a client could trigger at will. Nor a failure that
 * says nothing about the called node: this node's own connection to RabbitMQ was down
 * (BrokerDisconnectedError), RabbitMQ returned the request undelivered, or the request was cut
 * off by a lost connection (RequestRejectedError). Counting those opened every endpoint's circuit
 * during a RabbitMQ restart and kept answering 503 for up to 10 s after it was back.
 */
export function isOutage(err?: Error): boolean {
  const e = err as Errors.MoleculerError | undefined;
  if (e?.name === "BrokerDisconnectedError" || e?.name === "RequestRejectedError" || e?.type === "UNDELIVERED") return false;
  return e?.code === 503 || e?.code === 504;
}

/**
 * Moleculer's own middlewares, innermost first: its order (INTERNAL_MIDDLEWARES in
 * moleculer/src/service-broker.js), but with the cacher outside the call protection instead of
 * inside it. A cache hit cannot time out, fail or need a retry: it now answers before a timer is
 * armed and before the circuit breaker and the retry wrapper run (a hit paid for all three), and
 * the circuit breaker counts the calls that ran, not the hits. The context tracker stays inside
 * the timeout, so a graceful stop still waits for a handler whose caller gave up on it.
 */
export const BUILT_IN_MIDDLEWARES = [
  "ActionHook",
  "Validator",
  "Bulkhead",
  "ContextTracker",
  "CircuitBreaker",
  "Timeout",
  "Retry",
  "Cacher",
  "Fallback",
  "ErrorHandler",
  "Tracing",
  "Metrics",
  "Debounce",
  "Throttle",
] as const;

const isRetryable = (err?: Error) => !!(err as Errors.MoleculerError | undefined)?.retryable;

export function brokerOptions(cfg: Config = getConfig()): BrokerOptions {
  return {
    namespace: cfg.namespace,
    nodeID: cfg.nodeID,
    transporter: cfg.transporter ? amqpTransporter(cfg.transporter.url, cfg.transporter.prefetch) : undefined,
    cacher: cacher(cfg),
    serializer: new StreamSerializer(),
    logger: logger(cfg),
    logLevel: cfg.log.level,

    requestTimeout: cfg.requestTimeoutMs,
    // Retries errors marked retryable (node gone, node stopping, timeout), and only where running
    // twice is harmless: each action's own rule (middlewares/retry-policy.ts) replaces `check`.
    retryPolicy: { enabled: true, retries: 3, delay: 50, maxDelay: 1000, factor: 2, check: isRetryable },
    maxCallLevel: 50,
    // A frozen node (SIGSTOP, a stuck event loop) keeps its RabbitMQ connection and its queues until
    // someone notices: moleculer after heartbeatTimeout, checked every heartbeatTimeout (6-12 s with
    // 2/6; with 5/15 requests to a frozen node waited 15 s and more), then its pending requests are
    // rejected and retried elsewhere; RabbitMQ after 2-3 AMQP heartbeats (AMQP_HEARTBEAT_S, 5 s:
    // 10-15 s), then its queues go. test/faults/rabbitmq-failover.test.ts measures it.
    heartbeatInterval: 2,
    heartbeatTimeout: 6,
    contextParamsCloning: false,
    // Wait for in-flight requests before a node stops (graceful stop).
    tracking: { enabled: true, shutdownTimeout: 10_000 },
    disableBalancer: false,
    registry: { strategy: "RoundRobin", preferLocal: true, stopDelay: 100 },
    circuitBreaker: {
      enabled: true,
      threshold: 0.5,
      minRequestCount: 20,
      windowTime: 60,
      halfOpenTime: 10_000,
      // Infrastructure failures of the called node only (isOutage).
      check: isOutage,
    },
    bulkhead: { enabled: false },
    validator: true,
    errorHandler: undefined,

    metrics: {
      enabled: cfg.metrics.enabled,
      reporter: {
        type: "Prometheus",
        options: {
          port: cfg.metrics.port,
          path: "/metrics",
          defaultLabels: (registry: MetricRegistry) => ({ namespace: registry.broker.namespace, nodeID: registry.broker.nodeID }),
        },
      },
    },
    // TRACING: spans to the console or a Zipkin v2 collector; the trace id is the request id.
    tracing: tracing(cfg),
    // TransitBackpressure: uploads streamed between nodes wait for RabbitMQ and the reader (middlewares/transit-backpressure.ts).
    // RequestContext (last: wraps the others): handlers run in a scope holding ctx.requestID, for the logs (lib/request-id.ts).
    // RetryPolicy: which calls may run again after a failure (at most once for what is not idempotent).
    // Ownership (first: it wraps the handler innermost, so it runs after Access): whose rows an
    // action's caller may see, as the action declares (middlewares/ownership.ts).
    middlewares: [
      OwnershipMiddleware,
      AccessMiddleware,
      RetryPolicyMiddleware,
      TransitBackpressure(),
      RequestContextMiddleware,
      ...BUILT_IN_MIDDLEWARES,
    ],
    internalMiddlewares: false,

    started(broker) {
      broker.logger.info(
        `Node ready: services=[${cfg.services.join(",")}] ` +
          `transporter=${cfg.transporter ? redact(cfg.transporter.url) : "none (embedded)"} database=${cfg.database.dialect}`,
      );
    },
  };
}

export default brokerOptions;
