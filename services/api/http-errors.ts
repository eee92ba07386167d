/**
 * Turns any error that reaches the gateway into the HTTP status, headers and JSON body
 * a client gets: moleculer-web's shape `{ name, message, code, type, data }`.
 * Client errors (4xx) pass through; body-parser errors keep their status (400, 413, 415);
 * a missing or stopping service, or a service's own typed 503, is a 503 with Retry-After; a
 * timeout is a 504 with Retry-After;
 * anything else is a 500 whose
 * details stay in the log, never in the response.
 */
export interface HttpError {
  status: number;
  headers: Record<string, string | string[]>;
  body: ErrorBody | OAuthErrorBody;
}

/** moleculer-web's error shape. */
export interface ErrorBody {
  name: string;
  message: string;
  code: number;
  type?: string;
  data?: unknown;
  error?: never;
}

/** RFC 6749 §5.2: what the OAuth 2.0 token endpoint answers instead. */
export interface OAuthErrorBody {
  error: string;
  error_description: string;
  name?: never;
  message?: never;
  code?: never;
  type?: never;
  data?: never;
}

type AnyError = Error & { code?: unknown; status?: unknown; statusCode?: unknown; type?: unknown; data?: unknown; expose?: boolean };

export const WWW_AUTHENTICATE = ['Bearer realm="shop"', 'Basic realm="shop", charset="UTF-8"'];

const BODY_PARSER_TYPES: Record<string, { type: string; message: string }> = {
  "entity.parse.failed": { type: "MALFORMED_BODY", message: "The request body is not valid JSON." },
  "entity.too.large": { type: "PAYLOAD_TOO_LARGE", message: "The request body is too large." },
  "encoding.unsupported": { type: "UNSUPPORTED_ENCODING", message: "The request body encoding is not supported." },
  "charset.unsupported": { type: "UNSUPPORTED_CHARSET", message: "The request body charset is not supported." },
  "request.aborted": { type: "REQUEST_ABORTED", message: "The request was aborted." },
  "request.size.invalid": { type: "MALFORMED_BODY", message: "The request body does not match its Content-Length." },
};

const UNAVAILABLE = new Set([
  "ServiceNotFoundError",
  "ServiceNotAvailableError",
  "ServiceUnavailableError",
  "RequestRejectedError",
  "BrokerDisconnectedError",
]);

export function toHttpError(err: unknown): HttpError {
  const e = (err instanceof Error ? err : new Error(String(err))) as AnyError;
  const headers: HttpError["headers"] = {};

  // body-parser / raw-body errors: plain Errors with an HTTP status and a type string.
  const parserType = typeof e.type === "string" ? BODY_PARSER_TYPES[e.type] : undefined;
  if (parserType) {
    // moleculer-web wraps middleware errors: the HTTP status is then in `code`.
    const status = Number(typeof e.code === "number" ? e.code : (e.status ?? e.statusCode ?? 400));
    return { status, headers, body: { name: "RequestError", message: parserType.message, code: status, type: parserType.type } };
  }

  // UNDELIVERED: RabbitMQ returned a request to a node that is gone (its message names the node).
  if (UNAVAILABLE.has(e.name) || e.type === "UNDELIVERED") {
    headers["Retry-After"] = "5";
    return {
      status: 503,
      headers,
      body: {
        name: "ServiceUnavailableError",
        message: "The service is temporarily unavailable; try again shortly.",
        code: 503,
        type: "SERVICE_UNAVAILABLE",
      },
    };
  }

  if (e.name === "RequestTimeoutError" || (e.code === 504 && typeof e.type === "string")) {
    // A timeout is not proof that nothing happened: a POST may still complete. Idempotency-Key
    // makes its retry safe (the one order comes back).
    headers["Retry-After"] = "5";
    return {
      status: 504,
      headers,
      body: {
        name: "GatewayTimeoutError",
        message: "The service did not answer in time. The request may still complete: retry a POST with the same Idempotency-Key.",
        code: 504,
        type: "GATEWAY_TIMEOUT",
      },
    };
  }

  const code = typeof e.code === "number" ? e.code : Number(e.status ?? e.statusCode);
  if (Number.isInteger(code) && code >= 400 && code < 500) {
    if (e.type === "OAUTH_ERROR") {
      // RFC 6749 §5.2: the token endpoint answers { error, error_description }, never cached.
      Object.assign(headers, { "Cache-Control": "no-store", Pragma: "no-cache" });
      if (code === 401) headers["WWW-Authenticate"] = 'Basic realm="shop"';
      return { status: code, headers, body: e.data as OAuthErrorBody };
    }
    if (code === 401) headers["WWW-Authenticate"] = WWW_AUTHENTICATE;
    const retryAfter = (e.data as { retryAfter?: unknown } | undefined)?.retryAfter;
    if (code === 429 && typeof retryAfter === "number") headers["Retry-After"] = String(retryAfter);
    const body: ErrorBody = { name: e.name, message: e.message, code };
    if (e.type !== undefined) body.type = String(e.type);
    if (e.data !== undefined) body.data = Array.isArray(e.data) && code === 422 ? validationDetails(e.data) : e.data;
    return { status: code, headers, body };
  }

  // Our own "not now" (e.g. a checkout that could not save its order in time): its message is
  // written for clients; they may try again.
  if (code === 503 && typeof e.type === "string") {
    // The service may know better when to come back (an SMS provider's own hint): data.retryAfter, in seconds.
    const retryAfter = (e.data as { retryAfter?: unknown } | undefined)?.retryAfter;
    headers["Retry-After"] = typeof retryAfter === "number" && retryAfter >= 1 && retryAfter <= 3600 ? String(Math.ceil(retryAfter)) : "5";
    return { status: 503, headers, body: { name: e.name, message: e.message, code, type: e.type } };
  }

  return {
    status: 500,
    headers,
    body: {
      name: "InternalServerError",
      message: "Something went wrong on our side; it has been logged.",
      code: 500,
      type: "INTERNAL_ERROR",
    },
  };
}

/**
 * RFC 6749 §5.2 for the OAuth 2.0 token endpoint: a request it cannot take (a body that is not
 * JSON or a form, a parameter of the wrong type or length, a value the input boundary refuses)
 * is `400 {error: "invalid_request", error_description}`, never cached, like its own errors.
 */
export function asOAuthInvalidRequest(error: HttpError): HttpError {
  const { body } = error;
  if (typeof body.error === "string") return error; // the endpoint's own RFC 6749 error
  const details = Array.isArray(body.data) ? (body.data as ValidationItem[]).map((d) => d.message).filter(Boolean) : [];
  const description = details.length ? details.join(" ") : body.message;
  return {
    status: 400,
    headers: { ...error.headers, "Cache-Control": "no-store", Pragma: "no-cache" },
    body: { error: "invalid_request", error_description: description },
  };
}

type ValidationItem = { type?: string; field?: string; message?: string; actual?: unknown; expected?: unknown; [k: string]: unknown };

/**
 * Field-level validation details for clients: one entry per field, without the node and
 * action names the validator adds; "forbidden keys" becomes one entry per unknown field.
 */
export function validationDetails(items: ValidationItem[]): ValidationItem[] {
  return items.flatMap((item) => {
    const { nodeID: _n, action: _a, ...rest } = item;
    if (item.type === "objectStrict" && typeof item.actual === "string") {
      const prefix = item.field ? `${item.field}.` : "";
      return item.actual.split(",").map((key) => ({
        type: "forbidden",
        field: `${prefix}${key.trim()}`,
        message: `The field '${prefix}${key.trim()}' is not allowed here.`,
      }));
    }
    return [rest];
  });
}
