/**
 * The OpenAPI 3.1 document of the gateway, built from what the gateway routes with, so the
 * two cannot drift: moleculer-web's alias list (method, path, alias type, action name) and the
 * action definitions in the broker registry (`params`, `access`, `rest`, and
 * `clientAuthentication` for the OAuth token endpoint). Every alias becomes one operation;
 * nothing is listed that is not routed.
 *
 *   path params        → `in: path`;  GET/DELETE params → query;  other params → JSON body
 *   access             → security (public: none; otherwise bearer, basic, OAuth 2.0 client credentials)
 *   status codes       → rules below, corrected per action by mixins/openapi/hints.ts
 *   success bodies     → the schema hints.ts names for the action (mixins/openapi/entities.ts)
 */
import { paramsToJsonSchema, toJsonSchema, isOptional, type ParamsSchema, type Rule } from "./schema.ts";
import { HINTS, HEADER_PARAMETERS, type OperationHints } from "./hints.ts";
import { RESPONSE_SCHEMAS } from "./entities.ts";

/** One moleculer-web alias, as the gateway keeps it (`this.aliases`). */
export interface AliasInfo {
  /** "GET", "POST", … or "*" for any. */
  method: string;
  /** Full path with the gateway's base path, e.g. "/api/products/:id". */
  fullPath: string;
  /** "call" (JSON/form body), "multipart" (file upload) or "stream" (raw body). */
  type?: string;
  /** The action it calls; null for a function alias. */
  action: string | null;
}

/** What the registry knows about an action, local or remote (handler excluded). */
export interface ActionInfo {
  name: string;
  rawName?: string;
  params?: ParamsSchema;
  access?: string;
  clientAuthentication?: boolean;
  openapi?: OperationHints;
}

export interface GenerateOptions {
  title: string;
  version: string;
  description?: string;
}

type Operation = Record<string, unknown>;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
const ANY_METHOD = ["get", "post", "put", "patch", "delete"];
const QUERY_METHODS = new Set(["get", "delete", "head", "options"]);
const ROLES = ["user", "admin", "superuser"];

/** "/api/products/:id" → "/api/products/{id}" and the parameter names. */
export function openApiPath(fullPath: string): { path: string; names: string[] } {
  const names: string[] = [];
  const path = fullPath.replace(/[:*]([A-Za-z_$][\w$]*)/g, (_m, name: string) => {
    names.push(name);
    return `{${name}}`;
  });
  return { path, names };
}

/** "twoFactorEnable" → "Two factor enable". */
export function humanize(rawName: string): string {
  const words = rawName.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function securityOf(access: string | undefined): { requirement: Record<string, string[]>[]; note: string } {
  if (access === "public") return { requirement: [], note: "Public: no credentials needed." };
  const requirement: Record<string, string[]>[] = [{ bearerAuth: [] }, { basicAuth: [] }, { oauth2: [] }];
  if (access === "authenticated") return { requirement, note: "Requires a signed-in principal (any role)." };
  if (access && ROLES.includes(access))
    return { requirement, note: `Requires the \`${access}\` role or a higher one (user < admin < superuser).` };
  return { requirement, note: "Not callable over HTTP: the gateway refuses it (403)." };
}

/** Success statuses: a hint wins; otherwise DELETE → 204, POST create* → 201, else 200. */
export function successStatuses(method: string, action: ActionInfo | undefined, hints: OperationHints): number[] {
  if (hints.success?.length) return hints.success;
  if (method === "delete") return [204];
  if (method === "post" && (action?.rawName ?? action?.name.split(".").pop() ?? "").startsWith("create")) return [201];
  return [200];
}

const SUCCESS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No content",
  302: "Found: the content is at `Location`",
};

function isPaginated(params: ParamsSchema | undefined): boolean {
  return !!params && "page" in params && "pageSize" in params;
}

/** The document. `aliases` and `actions` are the gateway's and the registry's, as they are right now. */
export function generateOpenApi(
  aliases: readonly AliasInfo[],
  actions: readonly ActionInfo[],
  opts: GenerateOptions,
): Record<string, unknown> {
  const byName = new Map(actions.map((a) => [a.name, a]));
  const paths: Record<string, Record<string, Operation>> = {};
  const operationIds = new Set<string>();
  const tags = new Set<string>();

  // The OAuth token endpoint is the aliased action that authenticates clients itself.
  const tokenAlias = aliases.find((a) => a.action && byName.get(a.action)?.clientAuthentication);
  const tokenUrl = tokenAlias?.fullPath ?? "/api/auth/token";

  for (const alias of aliases) {
    const { path, names: pathNames } = openApiPath(alias.fullPath);
    const action = alias.action ? byName.get(alias.action) : undefined;
    const methods = alias.method === "*" ? ANY_METHOD : [alias.method.toLowerCase()];
    for (const method of methods) {
      if (!(METHODS as readonly string[]).includes(method)) continue;
      const op = operation(alias, action, method, pathNames, tokenUrl);
      const base = alias.action ?? `${method}${path.replace(/\W+/g, "_")}`;
      let id = base;
      for (let i = 2; operationIds.has(id); i++) id = `${base}_${i}`;
      operationIds.add(id);
      op.operationId = id;
      for (const t of op.tags as string[]) tags.add(t);
      (paths[path] ??= {})[method] = op;
    }
  }

  return {
    openapi: "3.1.0",
    info: { title: opts.title, version: opts.version, ...(opts.description ? { description: opts.description } : {}) },
    servers: [{ url: "/", description: "This gateway" }],
    tags: [...tags].toSorted().map((name) => ({ name })),
    paths: Object.fromEntries(Object.entries(paths).toSorted(([a], [b]) => a.localeCompare(b))),
    components: components(tokenUrl),
  };
}

function operation(alias: AliasInfo, action: ActionInfo | undefined, method: string, pathNames: string[], tokenUrl: string): Operation {
  const name = alias.action ?? "";
  const hints: OperationHints = { ...HINTS[name], ...action?.openapi };
  const service = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "gateway";
  const params: ParamsSchema = action?.params ?? {};
  const { requirement, note } = securityOf(action?.access);
  const isPublic = action?.access === "public";
  const oauthEndpoint = action?.clientAuthentication === true;
  const kind = alias.type ?? "call";

  const parameters: Operation[] = pathNames.map((p) => ({
    name: p,
    in: "path",
    required: true,
    schema: params[p] !== undefined ? toJsonSchema(params[p] as Rule) : { type: "string" },
  }));
  // The rest of the params: the query string for GET-like methods, else the body. `$`-keys are the validator's or moleculer-web's own.
  const rest = Object.fromEntries(Object.entries(params).filter(([k]) => !pathNames.includes(k) && !k.startsWith("$")));
  if (params.$$strict !== undefined) rest.$$strict = params.$$strict;
  const fields = Object.keys(rest).filter((k) => !k.startsWith("$$"));

  for (const header of hints.headers ?? []) {
    const known = HEADER_PARAMETERS[header];
    parameters.push({ name: header, in: "header", required: false, ...(known ?? { schema: { type: "string" } }) });
  }

  let requestBody: Operation | undefined;
  if (kind === "multipart") {
    requestBody = {
      required: true,
      content: {
        "multipart/form-data": {
          schema: {
            type: "object",
            required: ["file"],
            properties: {
              file: {
                type: "string",
                format: "binary",
                contentMediaType: "application/octet-stream",
                description: "The file: one part, with its filename and type.",
              },
            },
          },
        },
      },
    };
  } else if (kind === "stream") {
    requestBody = {
      required: true,
      content: {
        "application/octet-stream": { schema: { type: "string", format: "binary", contentMediaType: "application/octet-stream" } },
      },
    };
  } else if (QUERY_METHODS.has(method)) {
    for (const field of fields) {
      const rule = rest[field] as Rule;
      parameters.push({ name: field, in: "query", required: !isOptional(rule), schema: toJsonSchema(rule) });
    }
  } else if (fields.length) {
    const schema = paramsToJsonSchema(rest);
    const content: Record<string, unknown> = { "application/json": { schema } };
    // The OAuth token endpoint speaks form-encoded, as RFC 6749 says clients do.
    if (oauthEndpoint) content["application/x-www-form-urlencoded"] = { schema };
    requestBody = { required: Array.isArray(schema.required) && schema.required.length > 0, content };
  }
  const hasBody = requestBody !== undefined;

  // Success.
  const responses: Record<string, unknown> = {};
  for (const status of successStatuses(method, action, hints)) {
    responses[String(status)] = successResponse(status, method, params, hints);
  }

  // Errors that can apply here. An action nobody runs right now answers 503 whoever asks.
  const errors = new Set<number>();
  const known = action !== undefined;
  if (hasBody && kind !== "stream") errors.add(400); // malformed JSON or multipart
  if (known && !isPublic) [401, 403, 429].forEach((s) => errors.add(s));
  if (pathNames.length) errors.add(404);
  // Writes of signed-in callers may meet the current state: duplicates, stock, lifecycle, rules of the data.
  if (known && !isPublic && !["get", "head", "options"].includes(method)) errors.add(409);
  if (hasBody) [413, 415].forEach((s) => errors.add(s));
  if (action?.params !== undefined) errors.add(422);
  if (oauthEndpoint) errors.add(401);
  if (!known) errors.add(503);
  for (const s of hints.more ?? []) errors.add(s);
  for (const s of hints.not ?? []) errors.delete(s);
  for (const status of [...errors].toSorted((a, b) => a - b)) {
    const body = hints.bodies?.[status];
    if (body) {
      const { description, headers } = ERROR_RESPONSES[status] ?? { description: "Error" };
      responses[String(status)] = {
        description,
        ...(headers ? { headers } : {}),
        content: { "application/json": { schema: schemaRef(body) } },
      };
      continue;
    }
    const component = ERROR_RESPONSES[status];
    // A hinted status without a shared response of its own still has the error shape.
    const shared = component
      ? { $ref: `#/components/responses/${component.name}` }
      : { description: `Error ${status}.`, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
    const oauth = oauthEndpoint && (status === 400 || status === 401);
    responses[String(status)] = oauth ? { $ref: `#/components/responses/OAuth${status}` } : shared;
  }

  const description = [
    known ? note : "",
    alias.action ? `Calls \`${alias.action}\`${action ? "" : ", which is not available on this cluster right now"}.` : "",
    oauthEndpoint
      ? `Clients authenticate with HTTP Basic (client_id:client_secret) or with \`client_id\`/\`client_secret\` in the body; ` +
        `errors are RFC 6749 \`{error, error_description}\`. Swagger UI's *Authorize → oauth2* uses this endpoint (${tokenUrl}).`
      : "",
  ]
    .filter(Boolean)
    .join(" ");

  const op: Operation = {
    tags: [service],
    summary: hints.summary ?? humanize(action?.rawName ?? name.split(".").pop() ?? alias.fullPath),
    description,
  };
  if (parameters.length) op.parameters = parameters;
  if (requestBody) op.requestBody = requestBody;
  op.responses = responses;
  if (known) op.security = oauthEndpoint ? [{}, { clientBasic: [] }] : requirement;
  return op;
}

function successResponse(status: number, method: string, params: ParamsSchema, hints: OperationHints): unknown {
  const description = SUCCESS_TEXT[status] ?? "Success";
  if (status === 204) return { description };
  if (status === 302) return { description, headers: { Location: { schema: { type: "string", format: "uri" } } } };
  const media = hints.successContent === undefined ? "application/json" : hints.successContent;
  if (media === null) return { description };
  // A file answered with its own Content-Type (image/png, application/pdf, ...).
  if (media === "*/*") {
    const content = { "*/*": { schema: { type: "string", format: "binary" } } };
    return { description: `${description}: the content, with its own Content-Type`, content };
  }
  if (media !== "application/json")
    return { description, content: { [media]: { schema: { type: "string", format: "binary", contentMediaType: media } } } };
  // The action's own answer (mixins/openapi/entities.ts); without a hint, only the shape of a page or "an object".
  const schema = hints.response
    ? schemaRef(hints.response)
    : method === "get" && isPaginated(params)
      ? { $ref: "#/components/schemas/Page" }
      : { type: "object" };
  return { description, content: { "application/json": { schema } } };
}

/** A schema named in the hints ("Product") as a reference to components.schemas; a schema object as it is. */
function schemaRef(schema: string | Record<string, unknown>): Record<string, unknown> {
  return typeof schema === "string" ? { $ref: `#/components/schemas/${schema}` } : schema;
}

/** The error responses, each `{name, message, code, type, data}` (services/api/http-errors.ts). */
const ERROR_RESPONSES: Record<
  number,
  { name: string; description: string; example: Record<string, unknown>; headers?: Record<string, unknown> }
> = {
  400: {
    name: "BadRequest",
    description: "The body is not valid JSON (MALFORMED_BODY), or nested deeper than 32 levels (NESTING_TOO_DEEP).",
    example: { name: "RequestError", message: "The request body is not valid JSON.", code: 400, type: "MALFORMED_BODY" },
  },
  401: {
    name: "Unauthorized",
    description: "Not authenticated: no, wrong or expired credentials.",
    example: { name: "AccessError", message: "Authentication is required.", code: 401, type: "UNAUTHORIZED" },
    headers: { "WWW-Authenticate": { description: "The schemes this API accepts (Bearer, Basic).", schema: { type: "string" } } },
  },
  403: {
    name: "Forbidden",
    description: "Authenticated, but not allowed (role too low, or not for API clients).",
    example: { name: "AccessError", message: "This operation requires the admin role.", code: 403, type: "FORBIDDEN" },
  },
  404: {
    name: "NotFound",
    description: "No such resource (or not yours).",
    example: {
      name: "MoleculerClientError",
      message: "Product not found.",
      code: 404,
      type: "NOT_FOUND",
      data: { id: "3f0e0d64-5d0c-4b8e-9a55-0c8a3f1f2b7e" },
    },
  },
  408: {
    name: "RequestTimeout",
    description: "The upload stalled: no data arrived for a while.",
    example: { name: "MoleculerClientError", message: "The upload stalled: no data for 30 s.", code: 408, type: "UPLOAD_TIMEOUT" },
  },
  409: {
    name: "Conflict",
    description: "Conflicts with the current state: a duplicate, not enough stock, an illegal status change.",
    example: {
      name: "MoleculerClientError",
      message: "Not enough stock for some products.",
      code: 409,
      type: "INSUFFICIENT_STOCK",
      data: { productIds: ["3f0e0d64-5d0c-4b8e-9a55-0c8a3f1f2b7e"] },
    },
  },
  411: {
    name: "LengthRequired",
    description: "The upload has no Content-Length.",
    example: { name: "MoleculerClientError", message: "Send the body with a Content-Length.", code: 411, type: "LENGTH_REQUIRED" },
  },
  413: {
    name: "PayloadTooLarge",
    description: "The body is larger than the limit.",
    example: { name: "RequestError", message: "The request body is too large.", code: 413, type: "PAYLOAD_TOO_LARGE" },
  },
  415: {
    name: "UnsupportedMediaType",
    description: "The body's Content-Type is not accepted here.",
    example: {
      name: "MoleculerClientError",
      message: "Send the body as application/json.",
      code: 415,
      type: "UNSUPPORTED_MEDIA_TYPE",
      data: { contentType: "text/plain" },
    },
  },
  422: {
    name: "ValidationFailed",
    description:
      "Validation failed; `data` lists each field (`{type, field, message}`). Values the input boundary refuses anywhere " +
      "(control characters, prototype keys, oversized values: type INPUT_REFUSED) also say where (`in`: body, query, path or header).",
    example: {
      name: "ValidationError",
      message: "Parameters validation error!",
      code: 422,
      type: "VALIDATION_ERROR",
      data: [{ type: "required", field: "name", message: "The 'name' field is required." }],
    },
  },
  429: {
    name: "TooManyRequests",
    description: "Too many attempts (sign-in, Basic, second factor, token).",
    example: {
      name: "MoleculerClientError",
      message: "Too many attempts; try again in 60 s.",
      code: 429,
      type: "TOO_MANY_REQUESTS",
      data: { retryAfter: 60 },
    },
    headers: { "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } } },
  },
  503: {
    name: "ServiceUnavailable",
    description: "A service behind the gateway is unavailable; try again shortly.",
    example: {
      name: "ServiceUnavailableError",
      message: "The service is temporarily unavailable; try again shortly.",
      code: 503,
      type: "SERVICE_UNAVAILABLE",
    },
    headers: { "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } } },
  },
};

function components(tokenUrl: string): Record<string, unknown> {
  const errorRef = { $ref: "#/components/schemas/Error" };
  const responses: Record<string, unknown> = {};
  for (const { name, description, example, headers } of Object.values(ERROR_RESPONSES)) {
    responses[name] = { description, ...(headers ? { headers } : {}), content: { "application/json": { schema: errorRef, example } } };
  }
  const oauthError = { content: { "application/json": { schema: { $ref: "#/components/schemas/OAuthError" } } } };
  responses.OAuth400 = { description: "RFC 6749 error: invalid_request, invalid_grant, unsupported_grant_type.", ...oauthError };
  responses.OAuth401 = {
    description: "RFC 6749 invalid_client: unknown client or wrong secret.",
    headers: { "WWW-Authenticate": { schema: { type: "string" } } },
    ...oauthError,
  };

  return {
    schemas: {
      Error: {
        type: "object",
        description: "Every error answer (moleculer-web's shape).",
        required: ["name", "message", "code"],
        properties: {
          name: { type: "string" },
          message: { type: "string" },
          code: { type: "integer", description: "The HTTP status." },
          type: { type: "string", description: "A stable machine-readable reason, e.g. INSUFFICIENT_STOCK." },
          data: { description: "Details: for 422 a list of `{type, field, message}`." },
        },
      },
      OAuthError: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "string",
            enum: ["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope"],
          },
          error_description: { type: "string" },
        },
      },
      ...RESPONSE_SCHEMAS,
      Page: {
        type: "object",
        description: "One page of a list.",
        required: ["rows", "total", "page", "pageSize", "totalPages"],
        properties: {
          rows: { type: "array", items: { type: "object" } },
          total: { type: "integer", minimum: 0 },
          page: { type: "integer", minimum: 1 },
          pageSize: { type: "integer", minimum: 1 },
          totalPages: { type: "integer", minimum: 0 },
        },
      },
    },
    responses,
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "JWT",
        description: "The `accessToken` from POST /api/auth/login (or /login/totp, /refresh).",
      },
      basicAuth: {
        type: "http",
        scheme: "basic",
        description:
          "E-mail and password. An account with two-factor authentication also sends the current code in `X-TOTP` (each code works once).",
      },
      oauth2: {
        type: "oauth2",
        description:
          "OAuth 2.0 client credentials: an API client created at POST /api/clients. " +
          "Its tokens live 5 minutes and act with the client's role, at most its creator's current one.",
        flows: { clientCredentials: { tokenUrl, scopes: {} } },
      },
      clientBasic: { type: "http", scheme: "basic", description: "An API client's client_id and client_secret (token endpoint only)." },
    },
  };
}
