/**
 * api: the HTTP gateway (moleculer-web). Base path /api, REST aliases generated from the
 * `rest` declarations of the actions it can see (on any node), `mappingPolicy: "restrict"`
 * so nothing unaliased is reachable. Every request passes the authenticate hook (who?) and
 * the authorize hook (may they?); actions without an `access` declaration are refused.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import ApiGateway from "moleculer-web";
import { Errors, type ActionSchema, type Context, type Service, type ServiceSchema } from "moleculer";
import type { ShopMeta } from "../types/moleculer.d.ts";
import { getConfig, ALL_SERVICES } from "../lib/config.ts";
import { assertAccess, AccessError, type Principal } from "../lib/access.ts";
import { asOAuthInvalidRequest, toHttpError } from "./api/http-errors.ts";
import { InputInspection, inputRefused, jsonDepthExceeds, nestingTooDeep, paramsRule } from "./api/input-boundary.ts";
import { acceptRequestId, withRequestId } from "../lib/request-id.ts";
import { clientIp, trustFunction } from "../lib/client-ip.ts";
import { OpenApiMixin } from "../mixins/openapi/openapi.mixin.ts";
import { accessLogLevel } from "./api/access-log.ts";
import { GatewayPrincipals, gatewayJwtOptions } from "./api/principals.ts";

const cfg = getConfig();
/**
 * How long after the registry changed (`$services.changed`) moleculer-web regenerates the REST
 * routes: its default is 500 ms, which a starting cluster waited out once per joining node before
 * the gateway was ready. 20 ms still folds a burst of nodes announcing themselves together into one
 * regeneration (a few ms of CPU each).
 */
const ROUTES_DEBOUNCE_MS = 20;
/** The domain services this gateway routes to. */
const ROUTED_SERVICES = ALL_SERVICES.filter((s) => s !== "api");
/**
 * Without these the shop cannot sell: accounts and sign-in, the catalogue, checkout. A gateway
 * whose critical services are unreachable is not ready (503), so a load balancer sends its
 * traffic elsewhere. mail and storage are not critical: checkout goes on without them (e-mails
 * wait in RabbitMQ, uploads answer 503), so their absence degrades readiness, it does not fail it.
 */
export const CRITICAL_SERVICES: readonly string[] = ["users", "products", "orders"];
/**
 * Where each service's REST routes live. A request under one of these paths while the service
 * has no live node answers 503 (its routes exist, the service is down), not 404.
 */
const SERVICE_PATHS: Record<string, readonly string[]> = {
  users: ["/auth", "/users", "/clients"],
  products: ["/products"],
  orders: ["/orders"],
  mail: ["/mail"],
  storage: ["/files"],
};

type Req = IncomingMessage & {
  originalUrl?: string;
  /** The path without the query string and a trailing slash (moleculer-web). */
  parsedUrl?: string;
  query?: unknown;
  body?: unknown;
  /** The action the request is for, as declared (moleculer-web sets it once it found the endpoint). */
  $action?: ActionSchema;
  $alias?: GatewayAlias;
  $ctx?: Context;
  $params?: unknown;
};

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
const ACCEPTED_BODY_TYPES = /^application\/(json|x-www-form-urlencoded)\b|\+json\b/i;

/** One of moleculer-web's aliases (its Alias class), as far as this file uses it. */
interface GatewayAlias {
  method: string;
  action?: string | null;
  /** The decoded path parameters when `path` is this alias's path, else false. */
  match(path: string): Record<string, unknown> | false;
}

/** What moleculer-web adds to the service that this file uses: its routes; and the principals this gateway knows. */
interface GatewayVars {
  aliases: GatewayAlias[];
  /** Bearer tokens verified here (null: this node has no verification key, users.authenticate does it). */
  principals: GatewayPrincipals | null;
}

/** moleculer-web's methods this file uses, and those it overrides. */
interface GatewayMethods {
  resolveAlias(path: string, method?: string): { alias: GatewayAlias } | false;
  sendError(req: Req, res: ServerResponse, err: unknown): unknown;
  send404(req: Req, res: ServerResponse): unknown;
  errorHandler(req: Req, res: ServerResponse, err: unknown): unknown;
  authenticate(ctx: Context<unknown, ShopMeta>, route: unknown, req: Req): Promise<Principal | null>;
  authorize(ctx: Context<unknown, ShopMeta>, route: unknown, req: Req): void;
}

/**
 * The gateway's settings are moleculer-web's, which checks them as it starts. Its own
 * ApiSettingsSchema does not fit them: it takes `rootCallOptions` as options only (a function
 * is allowed too), and declares onBeforeCall without the alias moleculer-web passes it.
 */
type GatewaySettings = Record<string, unknown>;

/** The gateway as its hooks see it (`this`). */
type Gateway = Service<GatewaySettings> & GatewayVars & GatewayMethods;

/**
 * The REST actions of `service` that the registry knows but the gateway has no route for yet
 * (empty: all routed), or null when no node offers the service's REST actions.
 */
function unroutedActions(gateway: Gateway, service: string): string[] | null {
  const list = gateway.broker.registry.getActionList({ skipInternal: true, onlyAvailable: true });
  const declared = list.filter((a) => a.name.startsWith(`${service}.`) && a.action?.rest).map((a) => a.name);
  if (!declared.length) return null;
  const routed = new Set(gateway.aliases.map((a) => a.action));
  return declared.filter((name) => !routed.has(name));
}

/** ok: every service answers; degraded: a non-critical one does not; unavailable: a critical one does not. */
export function readiness(services: Record<string, string>): "ok" | "degraded" | "unavailable" {
  const down = Object.keys(services).filter((name) => services[name] !== "ok");
  if (down.some((name) => CRITICAL_SERVICES.includes(name))) return "unavailable";
  return down.length ? "degraded" : "ok";
}

/** The service whose routes live under `path` (below /api) when no node of it is available now; else null. */
function serviceDownAt(gateway: Gateway, path: string): string | null {
  const owner = Object.keys(SERVICE_PATHS).find((name) => SERVICE_PATHS[name]!.some((p) => path === p || path.startsWith(`${p}/`)));
  if (!owner) return null;
  // No node of it, or it is back but its routes are not regenerated yet (ROUTES_DEBOUNCE_MS after the
  // registry changed): either way its routes are away for a moment, not missing.
  const unrouted = unroutedActions(gateway, owner);
  return unrouted === null || unrouted.length > 0 ? owner : null;
}

/** The HTTP request of a call of moleculer-web's `rest` action. */
const requestOf = (ctx: Context) => (ctx.params as { req: Req }).req;

/** The request's path, without its query string. */
const pathOf = (req: Req) => (req.originalUrl ?? req.url ?? "").split("?")[0] ?? "";

/**
 * moleculer-web's `rootCallOptions` hook, before the request's context exists: the request id
 * of the whole call chain is the client's (or load balancer's) `X-Request-Id` when it is sane
 * (lib/request-id.ts), otherwise a new one, never the raw header (nor `X-Correlation-Id`,
 * which moleculer-web would take unchecked). It is in the response, whatever the outcome.
 */
function requestIdFromHeader(this: { broker: { generateUid(): string } }, options: { requestID?: string }, req: Req, res: ServerResponse) {
  options.requestID = acceptRequestId(req.headers["x-request-id"]) ?? this.broker.generateUid();
  res.setHeader("X-Request-Id", options.requestID);
}

/** One of moleculer-web's own methods, for the overrides below. */
function gatewayMethod(name: "sendError" | "send404") {
  const method = ApiGateway.methods?.[name];
  if (!method) throw new Error(`moleculer-web has no ${name} method to override.`);
  return method;
}
const GATEWAY_METHODS = { sendError: gatewayMethod("sendError"), send404: gatewayMethod("send404") };

/** The `shop_device` cookie's value in a Cookie header. */
const DEVICE_COOKIE = /(?:^|;)\s*shop_device=([^;\s]*)/;

/** Which hops in front of this gateway are proxies (TRUST_PROXY); by default none. */
const TRUSTED_PROXY = trustFunction(cfg.http.trustProxy);

/**
 * Every route: who is asking from where (rate limits and session records use these). The
 * address is the socket's peer unless it is a trusted proxy (lib/client-ip.ts).
 */
function recordCaller(ctx: Context<unknown, ShopMeta>, req: Req, timeoutMs: number) {
  ctx.meta.deadline = Date.now() + timeoutMs;
  ctx.meta.ip = clientIp(req, TRUSTED_PROXY, cfg.http.forwardedHeader);
  // Recorded with the sessions, never acted on: kept, without control characters.
  ctx.meta.userAgent = req.headers["user-agent"]?.replace(/[\u0000-\u001F\u007F-\u009F]/g, "").slice(0, 255);
  // The device token from a previous sign-in (users/methods.ts signInAttempt); checked by users.
  const device = DEVICE_COOKIE.exec(req.headers.cookie ?? "")?.[1];
  if (device && device.length <= 256) ctx.meta.deviceToken = device;
  const idempotencyKey = req.headers["idempotency-key"];
  if (typeof idempotencyKey === "string") ctx.meta.idempotencyKey = idempotencyKey;
  // The Cookie header only for actions that declare `cookies` (OpenID Connect: the browser that started a sign-in).
  const readsCookies = req.$action?.cookies === true;
  if (readsCookies && typeof req.headers.cookie === "string") ctx.meta.cookie = req.headers.cookie;
}

/** The JSON route's onBeforeCall: bodies are JSON (or a form), nothing else. */
function beforeJsonCall(ctx: Context<unknown, ShopMeta>, _route: unknown, req: Req) {
  recordCaller(ctx, req, cfg.requestTimeoutMs);
  const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
  if (BODY_METHODS.has(req.method ?? "") && hasBody && !ACCEPTED_BODY_TYPES.test(req.headers["content-type"] ?? "")) {
    throw new Errors.MoleculerClientError("Send the body as application/json.", 415, "UNSUPPORTED_MEDIA_TYPE", {
      contentType: req.headers["content-type"] ?? null,
    });
  }
  assertAcceptableInput(req);
}

/**
 * The input boundary (services/api/input-boundary.ts), for every request that found its action, before
 * authentication and before the action: the body as the client sent it (moleculer-web's merge
 * into the params would silently drop a `__proto__` key), the query string (its parser drops
 * prototype keys silently too: the raw keys are checked), the path parameters and the headers
 * actions read. The action's params say which fields may hold several lines (`multiline: true`).
 */
function assertAcceptableInput(req: Req) {
  const rule = paramsRule(req.$action?.params);
  const check = new InputInspection();
  const url = req.originalUrl ?? req.url ?? "";
  const queryStart = url.indexOf("?");
  if (queryStart !== -1) check.inspectQueryKeys(url.slice(queryStart + 1));
  if (req.query !== undefined) check.inspect(req.query, "query", rule);
  if (req.body !== undefined) check.inspect(req.body, "body", rule);
  const pathParams = req.$alias && req.parsedUrl !== undefined ? req.$alias.match(req.parsedUrl) : false;
  if (pathParams) check.inspect(pathParams, "path", rule);
  for (const [header, name] of READ_HEADERS) check.inspectHeader(name, req.headers[header]);
  if (check.problems.length) throw inputRefused(check.problems);
}
/** The request headers actions read (the gateway passes them on), as [lower-case, display name]. */
const READ_HEADERS = [
  ["authorization", "Authorization"],
  ["x-totp", "X-TOTP"],
  ["idempotency-key", "Idempotency-Key"],
] as const;

/**
 * body-parser's `verify` hook for JSON bodies: the raw bytes, before JSON.parse. A body nested
 * deeper than INPUT_LIMITS.maxDepth is a 400 before anything walks it (a depth of 10,000 once
 * overflowed the stack further on).
 */
function refuseDeepJson(_req: IncomingMessage, _res: ServerResponse, body: Buffer, encoding: string) {
  const text = /^utf-?8$/i.test(encoding) ? body : body.toString(encoding as BufferEncoding);
  if (jsonDepthExceeds(text)) throw Object.assign(nestingTooDeep(), { status: 400 });
}

/**
 * Every route's onError: moleculer-web's JSON error shape with our status mapping
 * (services/api/http-errors.ts); the OAuth 2.0 token endpoint answers a malformed or invalid request as
 * RFC 6749 §5.2 says, `400 {error: "invalid_request", error_description}`.
 */
function sendJsonError(this: Gateway, req: Req, res: ServerResponse, err: unknown) {
  let { status, headers, body } = toHttpError(err);
  if ((status === 400 || status === 422) && targetAction(this, req)?.clientAuthentication) {
    ({ status, headers, body } = asOAuthInvalidRequest({ status, headers, body }));
  }
  if (status >= 500 && status !== 503) this.logger.error(`${req.method} ${req.originalUrl ?? req.url} failed:`, err);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.writeHead(status);
  res.end(JSON.stringify(body));
}

/**
 * Uploads (route "upload"): the multipart parser streams the file part to storage.upload,
 * on whichever node runs it; busboy stops the part at UPLOAD_MAX_BYTES, which ends the
 * request with a 413 and aborts the object being written. Streamed calls are never retried
 * (a stream cannot be sent twice) and get a longer timeout than JSON calls.
 */
const MULTIPART = /^multipart\/form-data\b/i;
/** A whole upload, from the first byte to the stored object. The HTTP server's own request timeout (300 s) comes first. */
export const UPLOAD_TIMEOUT_MS = Math.max(cfg.requestTimeoutMs, 6 * 60_000);

function beforeUploadCall(ctx: Context<unknown, ShopMeta>, _route: unknown, req: Req, _res: ServerResponse, alias: { type?: string }) {
  recordCaller(ctx, req, UPLOAD_TIMEOUT_MS);
  assertAcceptableInput(req);
  if (alias.type === "multipart" && !MULTIPART.test(req.headers["content-type"] ?? "")) {
    throw new Errors.MoleculerClientError("Send the file as multipart/form-data.", 415, "UNSUPPORTED_MEDIA_TYPE", {
      contentType: req.headers["content-type"] ?? null,
    });
  }
  if (alias.type === "stream") {
    // A raw body (signed-URL PUT): the action checks these against what the URL allows.
    ctx.meta.uploadContentType = req.headers["content-type"];
    ctx.meta.uploadContentLength = req.headers["content-length"];
  }
  endPipesOnAbort(req);
}

/**
 * moleculer-web pipes the request into busboy, and a request that the client abandons never
 * ends: the file part, and the storage node reading it, would wait for the next byte until
 * the timeout. Ending the parser when the request closes early makes busboy fail the part
 * ("terminated early"), so the storage side aborts its object at once.
 */
function endPipesOnAbort(req: Req) {
  const pipe = req.pipe;
  req.pipe = function pipeAndWatch<T extends NodeJS.WritableStream>(this: Req, dest: T, opts?: { end?: boolean }): T {
    req.once("close", () => {
      if (!req.complete) dest.end();
    });
    return pipe.call(this, dest, opts) as T;
  };
}

/**
 * After a failed upload busboy still finishes the form and moleculer-web then tries to send
 * the (already answered) result: turn that into a silent no-op instead of a warning.
 */
function afterUploadCall(_ctx: Context, _route: unknown, _req: Req, res: ServerResponse, data: unknown) {
  if (res.headersSent) throw ALREADY_ANSWERED;
  return data;
}
const ALREADY_ANSWERED = new Error("The response has already been sent.");

/** The upload route's onError: one answer per request (busboy may report a failure twice), and a clear 413. */
function sendUploadError(this: Gateway, req: Req, res: ServerResponse, err: unknown) {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const e = err as { type?: unknown; code?: unknown; name?: unknown; message?: unknown };
  if (e?.type === "PAYLOAD_TOO_LARGE") {
    err = new Errors.MoleculerClientError(`The file is larger than the limit of ${cfg.storage.maxBytes} bytes.`, 413, "PAYLOAD_TOO_LARGE", {
      maxBytes: cfg.storage.maxBytes,
    });
  } else if (e?.message === "File missing in the request") {
    err = new Errors.MoleculerClientError("The form has no file part.", 400, "FILE_MISSING");
  } else if (typeof e?.code !== "number" && typeof e?.message === "string" && BUSBOY_ERROR.test(e.message)) {
    err = new Errors.MoleculerClientError("The multipart/form-data body is malformed or incomplete.", 400, "MALFORMED_BODY");
  }
  sendJsonError.call(this, req, res, err);
}

/**
 * The JSON route's onAfterCall: a signed-in caller changed something in the users service
 * (logout, password, roles, clients...): the principals this gateway knows may be stale, so
 * they are forgotten before the answer leaves (services/api/principals.ts); other gateways
 * learn it from the `cache.clean.users` broadcast.
 */
function afterJsonCall(this: Gateway, ctx: Context<unknown, ShopMeta>, _route: unknown, req: Req, _res: ServerResponse, data: unknown) {
  if (req.method !== "GET" && ctx.meta.user && req.$action?.name?.startsWith("users.")) this.principals?.forgetAll();
  return data;
}

/**
 * body-parser's `verify` hook for form bodies: their parser drops prototype keys silently,
 * so the raw keys are checked, as the query string's are.
 */
function refusePrototypeFormKeys(_req: IncomingMessage, _res: ServerResponse, body: Buffer, encoding: string) {
  const { problems } = new InputInspection().inspectQueryKeys(body.toString(encoding as BufferEncoding));
  if (problems.length) throw inputRefused(problems.map((p) => ({ ...p, in: "body" as const })));
}

/**
 * The definition of the action a request is for: known once moleculer-web has found its
 * endpoint; for a body the parser refused, looked up from the alias of its path and method.
 */
function targetAction(gateway: Gateway, req: Req): Omit<ActionSchema, "handler"> | undefined {
  if (req.$action) return req.$action;
  const found = gateway.resolveAlias(req.parsedUrl ?? pathOf(req), req.method);
  const name = found ? found.alias.action : undefined;
  if (!name) return undefined;
  return gateway.broker.registry.getActionList({ skipInternal: true }).find((a) => a.name === name)?.action;
}

/** The methods the aliases of `path` accept, when there are any (for a 405 and its Allow header). */
function allowedMethods(aliases: readonly GatewayAlias[], path: string): string[] {
  const methods = new Set<string>();
  for (const alias of aliases) {
    try {
      if (!alias.match(path)) continue;
      for (const m of alias.method === "*" ? ["GET", "POST", "PUT", "PATCH", "DELETE"] : [alias.method]) methods.add(m);
    } catch {
      // a path parameter that is not valid percent-encoding: not this alias
    }
  }
  return [...methods].toSorted();
}

/** What @fastify/busboy throws for a broken body. */
const BUSBOY_ERROR = new RegExp(
  "^(Multipart: Boundary not found|Unexpected end of multipart data|Unsupported Content-Type|Missing Content-Type|" +
    "Malformed part header|(Part|Preamble) terminated early)",
);

const ApiService: ServiceSchema<GatewaySettings, GatewayMethods, GatewayVars> = {
  name: "api",
  mixins: [ApiGateway, OpenApiMixin],

  /**
   * moleculer-web names each request's trace span, and tags it, with the whole URL: the query
   * string would carry search terms and e-mail addresses to the tracing collector, and make
   * every span name unique. The path and the method are enough.
   */
  merged(schema: ServiceSchema) {
    const rest = schema.actions?.rest as { tracing?: unknown; retryPolicy?: unknown } | undefined;
    if (!rest) return;
    // The broker must never run a request again: moleculer-web has consumed its body and
    // rewritten req.url by then (a retry answered 404 for routes that exist). The calls it
    // makes are retried by their own rules (middlewares/retry-policy.ts).
    rest.retryPolicy = { enabled: false };
    rest.tracing = {
      spanName: (ctx: Context) => `${requestOf(ctx).method} ${pathOf(requestOf(ctx))}`,
      tags: (ctx: Context, res?: unknown) => (res === undefined ? { method: requestOf(ctx).method, path: pathOf(requestOf(ctx)) } : {}),
    };
  },

  settings: {
    port: cfg.http.port,
    ip: cfg.http.host,
    path: "/api",
    rootCallOptions: requestIdFromHeader,
    debounceTime: ROUTES_DEBOUNCE_MS,
    // Access lines at debug, and only built when debug is on (services/api/access-log.ts); bodies are never logged.
    logRequest: accessLogLevel(cfg.log.level),
    logResponse: accessLogLevel(cfg.log.level),
    logRequestParams: null,
    logResponseData: null,
    log4XXResponses: false,
    cors: cfg.http.corsOrigins.length
      ? {
          origin: cfg.http.corsOrigins.includes("*") ? "*" : cfg.http.corsOrigins,
          methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
          allowedHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id", "X-TOTP"],
          exposedHeaders: ["Location", "Retry-After", "X-Request-Id", "WWW-Authenticate"],
          credentials: false,
          maxAge: 3600,
        }
      : undefined,

    routes: [
      {
        name: "rest",
        path: "/",
        autoAliases: true,
        mappingPolicy: "restrict",
        authentication: true,
        authorization: true,
        aliases: {
          "GET /health/live": "api.live",
          "GET /health/ready": "api.ready",
        },
        bodyParsers: {
          json: { strict: true, limit: cfg.http.bodyLimit, verify: refuseDeepJson },
          urlencoded: { extended: false, limit: cfg.http.bodyLimit, verify: refusePrototypeFormKeys },
        },
        callOptions: { timeout: cfg.requestTimeoutMs },
        onBeforeCall: beforeJsonCall,
        onAfterCall: afterJsonCall,
        onError: sendJsonError,
      },
      {
        // Multipart uploads and the local store's signed PUT URLs: raw bodies, streamed.
        name: "upload",
        path: "/files",
        mappingPolicy: "restrict",
        authentication: true,
        authorization: true,
        bodyParsers: false,
        aliases: {
          "POST /": "multipart:storage.upload",
          "PUT /signed/:token": "stream:storage.signedPut",
        },
        busboyConfig: {
          limits: { fileSize: cfg.storage.maxBytes, files: 1, fields: 20, fieldSize: 4096, parts: 21, headerPairs: 50 },
        },
        callOptions: { timeout: UPLOAD_TIMEOUT_MS, retries: 0 },
        onBeforeCall: beforeUploadCall,
        onAfterCall: afterUploadCall,
        onError: sendUploadError,
      },
    ],
    onError: sendJsonError,
  },

  created() {
    const jwt = gatewayJwtOptions(cfg);
    this.principals = jwt ? new GatewayPrincipals(jwt) : null;
    if (!jwt) this.logger.info("Bearer tokens are verified by the users service: give this node JWT_PUBLIC_KEY to verify them here.");
  },

  events: {
    // The users service broadcasts it after every change that can end or change a principal.
    "cache.clean.users"(this: Gateway) {
      this.principals?.forgetAll();
    },
    // While the transporter was away some of those broadcasts may have been missed.
    "$transporter.connected"(this: Gateway) {
      this.principals?.forgetAll();
    },
  },

  actions: {
    // moleculer-web publishes its alias list at GET /api/list-aliases: not for the public.
    listAliases: false,

    live: {
      access: "public",
      handler() {
        return { status: "ok" };
      },
    },

    ready: {
      access: "public",
      async handler(ctx: Context<unknown, ShopMeta>) {
        const results = await Promise.all(
          ROUTED_SERVICES.map(async (name) => {
            // Discovered is not enough: every REST action it declares must be routed too.
            // moleculer-web regenerates its aliases ROUTES_DEBOUNCE_MS after the registry changes, and the
            // fixed upload aliases (storage.upload) exist before storage is ever discovered.
            const unrouted = unroutedActions(this, name);
            if (unrouted === null) return [name, "not discovered"] as const;
            if (unrouted.length) return [name, "no routes yet"] as const;
            try {
              await ctx.call(`${name}.ready`, {}, { timeout: 2000, retries: 0 });
              return [name, "ok"] as const;
            } catch (err) {
              const e = err as Error;
              return [name, e.name === "ServiceNotFoundError" ? "not discovered" : e.message] as const;
            }
          }),
        );
        const services = Object.fromEntries(results);
        const status = readiness(services);
        if (status === "unavailable") ctx.meta.$statusCode = 503;
        if (status !== "ok") this.logger.warn(`Readiness ${status}:`, services);
        return { status, services, critical: CRITICAL_SERVICES };
      },
    },
  },

  methods: {
    /**
     * moleculer-web handles a failed request after the request's action has returned, or from
     * the multipart parser's events: outside the request's log scope. Answer it in that scope,
     * through sendError → the route's (or the global) onError, which logs a 5xx once, with the
     * method, URL and error. (moleculer-web's own errorHandler would log it a second time.)
     */
    errorHandler(req: Req, res: ServerResponse, err: unknown) {
      return this.sendError(req, res, err);
    },
    /** A "not found" under the routes of a service that is down is that service's 503. */
    sendError(req: Req, res: ServerResponse, err: unknown) {
      const down = (err as Error)?.name === "NotFoundError" ? serviceDownAt(this, pathOf(req).slice("/api".length)) : null;
      if (down) err = new Errors.ServiceNotAvailableError({ action: `${down}.*`, nodeID: this.broker.nodeID });
      return withRequestId(req.$ctx?.requestID, () => GATEWAY_METHODS.sendError.call(this, req, res, err));
    },

    /**
     * Nothing routed for this method and path: a 405 with `Allow` when the path exists with
     * other methods (RFC 9110 §15.5.6), otherwise moleculer-web's 404 (a 503 under the paths of
     * a service that is down, in sendError).
     */
    send404(req: Req, res: ServerResponse) {
      // Under a service that is down the other methods say nothing: its routes are away (503).
      const down = serviceDownAt(this, pathOf(req).slice("/api".length)) !== null;
      const allowed = down ? [] : allowedMethods(this.aliases, req.parsedUrl ?? pathOf(req));
      if (!allowed.length) return GATEWAY_METHODS.send404.call(this, req, res);
      res.setHeader("Allow", allowed.join(", "));
      const message = `${req.method} is not allowed here; use ${allowed.join(" or ")}.`;
      return this.sendError(req, res, new Errors.MoleculerClientError(message, 405, "METHOD_NOT_ALLOWED", { allow: allowed }));
    },

    /**
     * Who is calling? No Authorization header: anonymous. A bearer token is verified here and
     * its principal asked of the users service on a miss only (services/api/principals.ts);
     * Basic credentials are verified by the users service (`users.authenticate`); a scheme we
     * do not know, or credentials nobody can verify, is a 401.
     */
    async authenticate(ctx: Context<unknown, ShopMeta>, _route: unknown, req: Req): Promise<Principal | null> {
      const header = req.headers.authorization;
      if (!header) return null;
      // The OAuth token endpoint authenticates clients, not users, with this header.
      if (req.$action?.clientAuthentication) {
        ctx.meta.authorization = header;
        return null;
      }
      const [scheme = "", credentials = ""] = header.trim().split(/\s+/, 2);
      if (!/^(bearer|basic)$/i.test(scheme) || !credentials) {
        throw new AccessError("Use Authorization: Bearer <token> or Basic <credentials>.", 401, "INVALID_AUTHORIZATION");
      }
      // With no users node to ask, the call's ServiceNotFoundError is the outage it is (503 with
      // Retry-After, services/api/http-errors.ts), not a 401 that would make clients drop good tokens.
      if (this.principals && /^bearer$/i.test(scheme)) return this.principals.authenticate(ctx, credentials);
      return ctx.call<Principal, object>("users.authenticate", {
        scheme: scheme.toLowerCase(),
        credentials,
        totp: req.headers["x-totp"],
        ip: ctx.meta.ip,
        device: ctx.meta.deviceToken,
      });
    },

    /** May they? The action's own `access` declaration decides; none declared means no. */
    authorize(ctx: Context<unknown, ShopMeta>, _route: unknown, req: Req) {
      assertAccess(req.$action?.access, ctx.meta.user, true);
    },
  },
};

export default ApiService;
