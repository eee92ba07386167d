import { Errors } from "moleculer";
import { toHttpError, WWW_AUTHENTICATE } from "../../../../services/api/http-errors.ts";

function parserError(type: string, status: number) {
  return Object.assign(new Error("raw parser message"), { type, status });
}

describe("toHttpError", () => {
  test("malformed JSON is a 400, too large a 413", () => {
    expect(toHttpError(parserError("entity.parse.failed", 400))).toMatchObject({
      status: 400,
      body: { type: "MALFORMED_BODY", code: 400 },
    });
    expect(toHttpError(Object.assign(new Errors.MoleculerError("too big", 413, "entity.too.large"))).status).toBe(413);
    expect(toHttpError(parserError("entity.too.large", 413))).toMatchObject({ status: 413, body: { type: "PAYLOAD_TOO_LARGE" } });
  });

  test("client errors pass through with their data; 401 carries WWW-Authenticate", () => {
    const v = new Errors.ValidationError("bad", "VALIDATION_ERROR", [{ field: "sku" }]);
    expect(toHttpError(v)).toEqual({
      status: 422,
      headers: {},
      body: { name: "ValidationError", message: "bad", code: 422, type: "VALIDATION_ERROR", data: [{ field: "sku" }] },
    });
    const u = toHttpError(new Errors.MoleculerClientError("who?", 401, "UNAUTHORIZED"));
    expect(u.status).toBe(401);
    expect(u.headers["WWW-Authenticate"]).toEqual(WWW_AUTHENTICATE);
  });

  test("validation details: no internal names, one entry per forbidden field", () => {
    const v = new Errors.ValidationError("bad", "VALIDATION_ERROR", [
      { type: "number", field: "page", message: "m", nodeID: "n1", action: "products.list" },
      { type: "objectStrict", message: "m", actual: "secret, role", nodeID: "n1", action: "products.list" },
    ]);
    expect(toHttpError(v).body.data).toEqual([
      { type: "number", field: "page", message: "m" },
      { type: "forbidden", field: "secret", message: "The field 'secret' is not allowed here." },
      { type: "forbidden", field: "role", message: "The field 'role' is not allowed here." },
    ]);
  });

  test("429 carries Retry-After; OAuth errors keep the RFC 6749 shape", async () => {
    const { tooManyRequests, OAuthError } = await import("../../../../lib/errors.ts");
    expect(toHttpError(tooManyRequests(12.2))).toMatchObject({
      status: 429,
      headers: { "Retry-After": "13" },
      body: { code: 429, data: { retryAfter: 13 } },
    });
    expect(toHttpError(new OAuthError("invalid_grant", "The refresh token is not valid."))).toEqual({
      status: 400,
      headers: { "Cache-Control": "no-store", Pragma: "no-cache" },
      body: { error: "invalid_grant", error_description: "The refresh token is not valid." },
    });
    expect(toHttpError(new OAuthError("invalid_client", "Unknown client."))).toMatchObject({
      status: 401,
      headers: { "WWW-Authenticate": 'Basic realm="shop"' },
    });
  });

  test("a missing or stopping service is a 503 with Retry-After; a timeout is a 504", () => {
    const gone = toHttpError(new Errors.ServiceNotAvailableError({ action: "products.list", nodeID: "n1" }));
    expect(gone).toMatchObject({ status: 503, headers: { "Retry-After": "5" } });
    expect(toHttpError(new Errors.ServiceNotFoundError({ action: "products.list" })).status).toBe(503);
    expect(toHttpError(new Errors.RequestTimeoutError({ action: "products.list", nodeID: "n1" })).status).toBe(504);
  });

  test("a service's own typed 503 keeps its message and type, with Retry-After; an untyped one is a 500", () => {
    const slow = toHttpError(new Errors.MoleculerError("The order could not be saved in time.", 503, "CHECKOUT_TOO_SLOW"));
    expect(slow).toMatchObject({
      status: 503,
      headers: { "Retry-After": "5" },
      body: { message: "The order could not be saved in time.", type: "CHECKOUT_TOO_SLOW" },
    });
    expect(toHttpError(Object.assign(new Error("socket hang up"), { code: 503 })).status).toBe(500);
  });

  test("a typed 503 that knows when to come back (data.retryAfter, seconds) says so; nonsense falls back to 5", () => {
    const sms = (retryAfter: unknown) =>
      toHttpError(new Errors.MoleculerError("Text messages cannot be sent right now.", 503, "SMS_UNAVAILABLE", { retryAfter }));
    expect(sms(30)).toMatchObject({ status: 503, headers: { "Retry-After": "30" }, body: { type: "SMS_UNAVAILABLE" } });
    expect(sms(2.5).headers["Retry-After"]).toBe("3");
    for (const odd of [0, -1, 86_400, "30", null]) expect(sms(odd).headers["Retry-After"]).toBe("5");
  });

  test("anything else is a 500 that reveals nothing", () => {
    const res = toHttpError(new Error('relation "products" does not exist'));
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toMatch(/relation|products/);
    expect(toHttpError("a string").status).toBe(500);
    expect(toHttpError(new Errors.MoleculerServerError("boom", 502, "BAD")).status).toBe(500);
  });
});
