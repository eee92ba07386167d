/**
 * API documentation for the gateway (mix into the api service, after moleculer-web):
 *
 *   GET /api/openapi.json    the OpenAPI 3.1 document, generated on each request from the
 *                            gateway's aliases and the registry's action definitions
 *   GET /api/docs            Swagger UI (swagger-ui-dist, served from node_modules: no CDN)
 *   GET /api/docs/:file      the few files that page loads; anything else is a 404
 *
 * The routes are ordinary public actions with `rest`, so moleculer-web's autoAliases route
 * them like every other action (and `mappingPolicy: "restrict"` keeps the rest unreachable).
 */
import { createRequire } from "node:module";
import type { ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import { generateOpenApi, type ActionInfo, type AliasInfo } from "./generate.ts";
import { docsPage, swaggerUiFile, DOCS_CSP } from "./ui.ts";
import { notFound } from "../../lib/errors.ts";
import type { Mixin, ShopMeta } from "../../types/moleculer.d.ts";

const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };

export const API_TITLE = "Moleculer shop API";
export const API_DESCRIPTION = [
  "The REST API of the shop, generated from the gateway's routes and the actions' own parameter and access declarations.",
  [
    "**Credentials**: `Authorization: Bearer <accessToken>` (POST /api/auth/login), `Authorization: Basic base64(email:password)`",
    "(accounts with two-factor authentication add `X-TOTP: <code>`), or an OAuth 2.0 client-credentials token from POST /api/auth/token.",
  ].join(" "),
  [
    "**Lists** answer `{rows, total, page, pageSize, totalPages}`.",
    "**Money** is integer minor units plus a currency code; ids are UUIDs; times are ISO-8601 UTC.",
  ].join(" "),
  [
    "**Errors** are `{name, message, code, type, data}`; a 422 lists each field in `data`.",
    "Any call may also meet 503 (a service is unavailable, with Retry-After) or 504 (it did not answer in time).",
  ].join(" "),
  [
    "**Input boundary**: every request is checked before any action sees it. A JSON body nested deeper than 32 levels is a 400",
    "(NESTING_TOO_DEEP); control characters (TAB, LF and CR only in multi-line fields such as a product's `description`), the keys",
    "`__proto__`, `constructor` and `prototype`, strings over 16,384 characters and other oversized values, in the body, query, path",
    "or the Authorization, X-TOTP and Idempotency-Key headers, are a 422 (INPUT_REFUSED) listing each `{type, field, in, message}`.",
    "A method a path does not take is a 405 with `Allow`; a request line or headers over 16 KiB, a 431.",
  ].join(" "),
  "Every response carries `X-Request-Id`.",
].join("\n\n");

interface GatewayAlias {
  method: string;
  fullPath: string;
  type?: string;
  action?: string | null;
}
/** moleculer-web's routes, on the gateway this is mixed into. */
interface GatewayVars {
  aliases: GatewayAlias[];
}
type Self = Service & GatewayVars;

/** The gateway's routes right now, as the generator takes them. */
function currentAliases(self: Self): AliasInfo[] {
  return self.aliases.map((a) => ({ method: a.method, fullPath: a.fullPath, type: a.type, action: a.action ?? null }));
}

/** Every action the registry knows, local or remote, with its definition (no handler). */
function currentActions(self: Self): ActionInfo[] {
  const list = self.broker.registry.getActionList({ skipInternal: true });
  return list.flatMap(({ name, action }) => (action ? [{ ...action, name }] : []));
}

function pathOf(self: Self, action: string, fallback: string): string {
  return self.aliases.find((a) => a.action === `${self.name}.${action}`)?.fullPath ?? fallback;
}

const actions: Record<string, ActionSchema<Self>> = {
  openapi: {
    rest: { method: "GET", basePath: "/", path: "/openapi.json" },
    access: "public",
    params: { $$strict: true },
    openapi: { summary: "This document (OpenAPI 3.1)", response: "OpenApiDocument" },
    handler(this: Self, ctx: Context<unknown, ShopMeta>) {
      ctx.meta.$responseHeaders = { "Cache-Control": "no-cache" };
      return generateOpenApi(currentAliases(this), currentActions(this), {
        title: API_TITLE,
        version: pkg.version,
        description: API_DESCRIPTION,
      });
    },
  },

  docs: {
    rest: { method: "GET", basePath: "/", path: "/docs" },
    access: "public",
    params: { $$strict: true },
    openapi: { summary: "Swagger UI for this document", successContent: "text/html" },
    handler(this: Self, ctx: Context<unknown, ShopMeta>) {
      ctx.meta.$responseType = "text/html; charset=utf-8";
      ctx.meta.$responseHeaders = { "Content-Security-Policy": DOCS_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache" };
      return docsPage({
        title: API_TITLE,
        assetBase: pathOf(this, "docs", "/api/docs"),
        specUrl: pathOf(this, "openapi", "/api/openapi.json"),
      });
    },
  },

  docsAsset: {
    rest: { method: "GET", basePath: "/", path: "/docs/:file" },
    access: "public",
    params: { $$strict: true, file: { type: "string", max: 64 } },
    openapi: { summary: "A file of the Swagger UI page", successContent: "*/*" },
    async handler(this: Self, ctx: Context<{ file: string }, ShopMeta>) {
      const file = await swaggerUiFile(ctx.params.file);
      if (!file) throw notFound("File", ctx.params.file);
      ctx.meta.$responseType = file.type;
      ctx.meta.$responseHeaders = { "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff" };
      return file.body;
    },
  },
};

const schema: Partial<ServiceSchema<object, object, GatewayVars>> = { actions };
export const OpenApiMixin: Mixin = schema;
