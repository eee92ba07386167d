/**
 * api: the HTTP gateway (moleculer-web). Base path /api, REST aliases generated from the
 * `rest` declarations of the actions it can see (on any node), `mappingPolicy: "restrict"`
 * so nothing unaliased is reachable. Every request passes the authenticate hook (who?) and
 * the authorize hook (may they?); actions without an `access` declaration are refused.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import ApiGateway from "moleculer-web";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import { defineService } from "../lib/service-schema.ts";
import { getConfig, ALL_SERVICES } from "../lib/config.ts";
import { assertAccess, AccessError, type Access, type Principal } from "../lib/access.ts";
import { toHttpError } from "../lib/http-errors.ts";

const cfg = getConfig();
/** The domain services this gateway routes to; readiness needs each of them. */
const ROUTED_SERVICES = ALL_SERVICES.filter((s) => s !== "api");

type Req = IncomingMessage & { $action?: { name?: string; access?: Access; clientAuthentication?: boolean }; $ctx?: Context; $params?: unknown };
type Meta = { user?: Principal | null; $statusCode?: number; ip?: string; userAgent?: string; authorization?: string; idempotencyKey?: string };

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
const ACCEPTED_BODY_TYPES = /^application\/(json|x-www-form-urlencoded)\b|\+json\b/i;

/** What moleculer-web adds to the service that this file uses. */
interface GatewayInternals {
  aliases: { action?: string }[];
}

export default defineService<GatewayInternals>({
  name: "api",
  mixins: [ApiGateway as unknown as ServiceSchema],

  settings: {
    port: cfg.http.port,
    ip: cfg.http.host,
    path: "/api",
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
        onBeforeCall(ctx: Context<unknown, Meta>, _route: unknown, req: Req, res: ServerResponse) {
          res.setHeader("X-Request-Id", ctx.requestID ?? ctx.id);
          // Who is asking from where: rate limits and session records use these.
          ctx.meta.ip = req.socket.remoteAddress ?? undefined;
          ctx.meta.userAgent = req.headers["user-agent"]?.slice(0, 255);
          const idempotencyKey = req.headers["idempotency-key"];
          if (typeof idempotencyKey === "string") ctx.meta.idempotencyKey = idempotencyKey;
          const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
          if (BODY_METHODS.has(req.method ?? "") && hasBody && !ACCEPTED_BODY_TYPES.test(req.headers["content-type"] ?? "")) {
            throw new Errors.MoleculerClientError("Send the body as application/json.", 415, "UNSUPPORTED_MEDIA_TYPE", {
              contentType: req.headers["content-type"] ?? null,
            });
          }
        },
        onError(this: { logger: { error(...a: unknown[]): void } }, req: Req, res: ServerResponse, err: unknown) {
          const { status, headers, body } = toHttpError(err);
          if (status >= 500 && status !== 503) this.logger.error(`${req.method} ${req.url} failed:`, err);
          for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
          if (req.$ctx && !res.hasHeader("X-Request-Id")) res.setHeader("X-Request-Id", req.$ctx.requestID ?? req.$ctx.id);
          res.setHeader("Content-Type", "application/json; charset=utf-8");
          res.writeHead(status);
          res.end(JSON.stringify(body));
        },
      },
    ],
    onError(req: Req, res: ServerResponse, err: unknown) {
      const { status, headers, body } = toHttpError(err);
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      res.setHeader("Content-Type", "application/json; charset=utf-8");
      res.writeHead(status);
      res.end(JSON.stringify(body));
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
      async handler(ctx: Context<unknown, Meta>) {
        const results = await Promise.all(
          ROUTED_SERVICES.map(async (name) => {
            // Discovered is not enough: its REST routes must be generated too.
            if (!this.aliases.some((a) => a.action?.startsWith(`${name}.`))) return [name, "no routes yet"] as const;
            try {
              await ctx.call(`${name}.ready`, {}, { timeout: 2000, retries: 0 });
              return [name, "ok"] as const;
            } catch (err) {
              const e = err as Error;
              return [name, e.name === "ServiceNotFoundError" ? "not discovered" : e.message] as const;
            }
          }),
        );
        const ok = results.every(([, state]) => state === "ok");
        if (!ok) {
          ctx.meta.$statusCode = 503;
          this.logger.warn("Not ready:", Object.fromEntries(results));
        }
        return { status: ok ? "ok" : "unavailable", services: Object.fromEntries(results) };
      },
    },
  },

  methods: {
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
