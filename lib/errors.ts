/**
 * Client errors with the status codes of the API contract, so services say what went
 * wrong in one line. The gateway (services/api/http-errors.ts) turns them into HTTP responses.
 */
import { Errors } from "moleculer";

const { MoleculerClientError } = Errors;

/** One field-level problem, in fastest-validator's shape (`actual`: the value refused, when it helps). */
export interface Problem {
  field: string;
  message: string;
  type: string;
  actual?: unknown;
}

/** 422 for one field, in the validator's shape. */
export function invalid(field: string, message: string, type = "invalid"): Errors.ValidationError {
  return invalidAll([{ type, field, message }]);
}

/**
 * 422 listing every problem (the validator's shape); the message is the first problem's unless
 * given. `type` names another kind of 422 (the gateway's INPUT_REFUSED).
 */
export function invalidAll(problems: readonly Problem[], opts: { message?: string; type?: string } = {}): Errors.ValidationError {
  const message = opts.message ?? problems[0]?.message ?? "Validation failed.";
  return new Errors.ValidationError(message, opts.type ?? "VALIDATION_ERROR", problems);
}

/** 404: missing, or not the caller's to see (the same answer either way). */
export function notFound(entity: string, id?: unknown) {
  return new MoleculerClientError(`${entity} not found.`, 404, "NOT_FOUND", id === undefined ? undefined : { id });
}

export function conflict(message: string, type = "CONFLICT", data?: unknown) {
  return new MoleculerClientError(message, 409, type, data);
}

export function forbidden(message: string, type = "FORBIDDEN") {
  return new MoleculerClientError(message, 403, type);
}

export function unauthorized(message: string, type = "UNAUTHORIZED") {
  return new MoleculerClientError(message, 401, type);
}

/** 429; the gateway turns `retryAfter` (seconds) into a Retry-After header. */
export function tooManyRequests(retryAfterSec: number) {
  const retryAfter = Math.max(1, Math.ceil(retryAfterSec));
  return new MoleculerClientError(`Too many attempts; try again in ${retryAfter} s.`, 429, "TOO_MANY_REQUESTS", { retryAfter });
}

/**
 * RFC 6749 §5.2 error of the OAuth 2.0 token endpoint: the body is exactly
 * `{ error, error_description }`; invalid_client is a 401, everything else a 400.
 */
export class OAuthError extends MoleculerClientError {
  constructor(
    error: "invalid_request" | "invalid_client" | "invalid_grant" | "unauthorized_client" | "unsupported_grant_type" | "invalid_scope",
    description: string,
  ) {
    super(description, error === "invalid_client" ? 401 : 400, "OAUTH_ERROR", { error, error_description: description });
  }
}
