/**
 * api: the HTTP gateway (moleculer-web). Base path /api, REST aliases generated from the
 * `rest` declarations of the actions it can see (on any node), `mappingPolicy: "restrict"`
 * so nothing unaliased is reachable. Every request passes the authenticate hook (who?) and
 * the authorize hook (may they?); actions without an `access` declaration are refused.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import ApiGateway from "moleculer-web";
import { Errors, type Context, type Service, type ServiceSchema } from "moleculer";
import { defineService } from "../lib/service-schema.ts";
import { getConfig, ALL_SERVICES } from "../lib/config.ts";
import { assertAccess, AccessError, type Access, type Principal } from "../lib/access.ts";
import { toHttpError } from "../lib/http-errors.ts";
import { acceptRequestId, withRequestId } from "../lib/request-context.ts";
import { OpenApiMixin } from "../mixins/openapi.mixin.ts";

const cfg = getConfig();
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

type Req = IncomingMessage & { originalUrl?: string; $action?: { name?: string; access?: Access; clientAuthentication?: boolean }; $ctx?: Context; $params?: unknown };
type Meta = {
  user?: Principal | null;
  $statusCode?: number;
  ip?: string;
  userAgent?: string;
  authorization?: string;
  idempotencyKey?: string;
  /** When the gateway stops waiting for this request (ms since the epoch): work after it is wasted, or worse. */
  deadline?: number;
};
type UploadMeta = Meta & { uploadContentType?: string; uploadContentLength?: string };

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
const ACCEPTED_BODY_TYPES = /^application\/(json|x-www-form-urlencoded)\b|\+json\b/i;

/** What moleculer-web adds to the service that this file uses. */
interface GatewayInternals {
  aliases: { action?: string }[];
  sendError(req: Req, res: ServerResponse, err: unknown): unknown;
}

type Logger = { logger: { error(...a: unknown[]): void } };

/**
 * The REST actions of `service` that the registry knows but the gateway has no route for yet
 * (empty: all routed), or null when no node offers the service's REST actions.
 */
function unroutedActions(gateway: Service & GatewayInternals, service: string): string[] | null {
  const list = gateway.broker.registry.getActionList({ skipInternal: true, onlyAvailable: true }) as unknown as { name: string; action?: { rest?: unknown } }[];
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
function serviceDownAt(broker: Service["broker"], path: string): string | null {
  const owner = Object.keys(SERVICE_PATHS).find((name) => SERVICE_PATHS[name]!.some((p) => path === p || path.startsWith(`${p}/`)));
  if (!owner) return null;
  const live = broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as unknown as { name: string }[];
  return live.some((s) => s.name === owner) ? null : owner;
}

/** The request's path, without its query string. */
const pathOf = (req: Req) => (req.originalUrl ?? req.url ?? "").split("?")[0] ?? "";

/**
 * moleculer-web's `rootCallOptions` hook, before the request's context exists: the request id
 * of the whole call chain is the client's (or load balancer's) `X-Request-Id` when it is sane
 * (lib/request-context.ts), otherwise a new one, never the raw header (nor `X-Correlation-Id`,
 * which moleculer-web would take unchecked). It is in the response, whatever the outcome.
 */
function requestIdFromHeader(this: { broker: { generateUid(): string } }, options: { requestID?: string }, req: Req, res: ServerResponse) {
  options.requestID = acceptRequestId(req.headers["x-request-id"]) ?? this.broker.generateUid();
  res.setHeader("X-Request-Id", options.requestID);
}

/** moleculer-web's own methods, for the overrides below. */
const GATEWAY_METHODS = (ApiGateway as unknown as { methods: Record<"sendError", (this: unknown, req: Req, res: ServerResponse, err: unknown) => unknown> }).methods;

/** Every route: who is asking from where (rate limits and session records use these). */
function recordCaller(ctx: Context<unknown, Meta>, req: Req, timeoutMs: number) {
  ctx.meta.deadline = Date.now() + timeoutMs;
  ctx.meta.ip = req.socket.remoteAddress ?? undefined;
  ctx.meta.userAgent = req.headers["user-agent"]?.slice(0, 255);
  const idempotencyKey = req.headers["idempotency-key"];
  if (typeof idempotencyKey === "string") ctx.meta.idempotencyKey = idempotencyKey;
}

/** The JSON route's onBeforeCall: bodies are JSON (or a form), nothing else. */
function beforeJsonCall(ctx: Context<unknown, Meta>, _route: unknown, req: Req) {
  recordCaller(ctx, req, cfg.requestTimeoutMs);
  const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
  if (BODY_METHODS.has(req.method ?? "") && hasBody && !ACCEPTED_BODY_TYPES.test(req.headers["content-type"] ?? "")) {
    throw new Errors.MoleculerClientError("Send the body as application/json.", 415, "UNSUPPORTED_MEDIA_TYPE", {
      contentType: req.headers["content-type"] ?? null,
    });
  }
}

/** Every route's onError: moleculer-web's JSON error shape with our status mapping (lib/http-errors.ts). */
function sendJsonError(this: Logger, req: Req, res: ServerResponse, err: unknown) {
  const { status, headers, body } = toHttpError(err);
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

function beforeUploadCall(ctx: Context<unknown, UploadMeta>, _route: unknown, req: Req, _res: ServerResponse, alias: { type?: string }) {
  recordCaller(ctx, req, UPLOAD_TIMEOUT_MS);
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
function sendUploadError(this: Logger, req: Req, res: ServerResponse, err: unknown) {
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
/** What @fastify/busboy throws for a broken body. */
const BUSBOY_ERROR = /^(Multipart: Boundary not found|Unexpected end of multipart data|Unsupported Content-Type|Missing Content-Type|Malformed part header|(Part|Preamble) terminated early)/;

export default defineService<GatewayInternals>({
  name: "api",
  mixins: [ApiGateway as unknown as ServiceSchema, OpenApiMixin as ServiceSchema],

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
    const requestOf = (ctx: Context) => (ctx.params as { req: Req }).req;
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
    // Access logs: one line per request at info is plenty; bodies are never logged.
    logRequest: "debug",
    logResponse: "debug",
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
          json: { strict: true, limit: cfg.http.bodyLimit },
          urlencoded: { extended: false, limit: cfg.http.bodyLimit },
        },
        callOptions: { timeout: cfg.requestTimeoutMs },
        onBeforeCall: beforeJsonCall,
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
      async handler(ctx: Context<unknown, Meta>) {
        const results = await Promise.all(
          ROUTED_SERVICES.map(async (name) => {
            // Discovered is not enough: every REST action it declares must be routed too.
            // moleculer-web regenerates its aliases 500 ms after the registry changes, and the
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
      const down = (err as Error)?.name === "NotFoundError" ? serviceDownAt(this.broker, pathOf(req).slice("/api".length)) : null;
      if (down) err = new Errors.ServiceNotAvailableError({ action: `${down}.*`, nodeID: this.broker.nodeID });
      return withRequestId(req.$ctx?.requestID, () => GATEWAY_METHODS.sendError.call(this, req, res, err));
    },

    /**
     * Who is calling? No Authorization header: anonymous. Bearer or Basic credentials are
     * verified by the users service (`users.authenticate`); a scheme we do not know, or
     * credentials nobody can verify, is a 401.
     */
    async authenticate(ctx: Context<unknown, Meta>, _route: unknown, req: Req): Promise<Principal | null> {
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
      try {
        return await ctx.call<Principal, object>("users.authenticate", {
          scheme: scheme.toLowerCase(),
          credentials,
          totp: req.headers["x-totp"],
          ip: ctx.meta.ip,
        });
      } catch (err) {
        if ((err as Error).name === "ServiceNotFoundError") {
          throw new AccessError("Credentials cannot be verified right now.", 401, "INVALID_CREDENTIALS");
        }
        throw err;
      }
    },

    /** May they? The action's own `access` declaration decides; none declared means no. */
    authorize(ctx: Context<unknown, Meta>, _route: unknown, req: Req) {
      assertAccess(req.$action?.access, ctx.meta.user, true);
    },
  },
});
