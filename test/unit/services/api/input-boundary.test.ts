/**
 * The input boundary's checks as plain functions (services/api/input-boundary.ts): depth on the raw
 * bytes, control characters by field kind, prototype keys, limits; plus the rules it works
 * with: the e-mail address rule (domain/user-rules.ts), the customer's view of an order's
 * history (domain/order-status.ts) and RFC 6749's invalid_request (services/api/http-errors.ts).
 */
import { INPUT_LIMITS, InputInspection, jsonDepthExceeds, paramsRule } from "../../../../services/api/input-boundary.ts";
import { refusedCharacter } from "../../../../lib/characters.ts";
import { isEmailAddress } from "../../../../domain/user-rules.ts";
import { customerHistory, type StatusChange } from "../../../../domain/order-status.ts";
import { asOAuthInvalidRequest, toHttpError } from "../../../../services/api/http-errors.ts";
import { Errors } from "moleculer";
import { OAuthError } from "../../../../lib/errors.ts";

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

describe("jsonDepthExceeds: nesting counted on the raw body", () => {
  test("32 levels pass, 33 do not; the body itself is level 1", () => {
    expect(jsonDepthExceeds(`{"a":${nested(31)}}`)).toBe(false);
    expect(jsonDepthExceeds(`{"a":${nested(32)}}`)).toBe(true);
    expect(jsonDepthExceeds(Buffer.from(nested(32)))).toBe(false);
    expect(jsonDepthExceeds(Buffer.from(nested(33)))).toBe(true);
  });

  test("brackets inside strings, escaped quotes and multi-byte characters do not count", () => {
    const text = JSON.stringify({ a: "[".repeat(100), b: 'quote \\" [[[ "', c: "€[€{".repeat(50), d: [[{ e: "}]]]" }]] });
    expect(jsonDepthExceeds(text, 4)).toBe(false);
    expect(jsonDepthExceeds(Buffer.from(text), 4)).toBe(false);
    expect(jsonDepthExceeds(Buffer.from(text), 3)).toBe(true);
  });

  test("finding 5: a depth of 10,000 in a string field, without exhausting the stack", () => {
    const body = Buffer.from(`{"email":${nested(10_000)},"password":"x"}`);
    expect(body.length).toBeGreaterThan(20_000);
    expect(jsonDepthExceeds(body)).toBe(true);
    expect(jsonDepthExceeds(Buffer.from(nested(1_000_000)))).toBe(true);
  });
});

describe("refusedCharacter", () => {
  test("NUL and friends everywhere; TAB, LF and CR only where several lines are allowed", () => {
    for (const c of ["\u0000", "\u0001", "\u0008", "\u000b", "\u000c", "\u001b", "\u007f", "\u0085", "\u009f", "\u202e", "\u2066"]) {
      expect(refusedCharacter(`ab${c}cd`)).toMatchObject({ index: 2 });
      expect(refusedCharacter(`ab${c}cd`, true)).toMatchObject({ index: 2 });
    }
    for (const c of ["\t", "\n", "\r", "\u2028", "\u2029"]) {
      expect(refusedCharacter(`a${c}b`)).toMatchObject({ index: 1 });
    }
    expect(refusedCharacter("line one\r\n\tline two", true)).toBeNull();
    expect(refusedCharacter("x\u0000", false)).toEqual({ index: 1, character: "U+0000", surrogate: false });
  });

  test("ordinary text, accents, emoji and joiners pass; unpaired surrogates do not", () => {
    expect(refusedCharacter("Zoë Ångström — 東京 👩‍👩‍👧 e\u0301")).toBeNull();
    expect(refusedCharacter("a\ud800b")).toMatchObject({ index: 1, surrogate: true });
    expect(refusedCharacter("a\udc00")).toMatchObject({ index: 1, surrogate: true });
    expect(refusedCharacter("😀"[0]!)).toMatchObject({ surrogate: true });
  });
});

describe("InputInspection", () => {
  const params = {
    $$strict: true,
    name: { type: "string", max: 100 },
    description: { type: "string", max: 5000, multiline: true },
    shippingAddress: { type: "object", props: { line1: "string", note: { type: "string", multiline: true } } },
    items: { type: "array", items: { type: "object", props: { comment: [{ type: "string", multiline: true }, { type: "number" }] } } },
  };
  const rule = paramsRule(params);
  const inspect = (value: unknown, where: "body" | "query" | "path" = "body") => new InputInspection().inspect(value, where, rule).problems;

  test("clean input: no problems", () => {
    expect(
      inspect({
        name: "Kettle",
        description: "Copper.\nHolds 1.7 l.\tDishwasher safe.",
        shippingAddress: { line1: "1 Main St", note: "Ring\ntwice" },
        items: [{ comment: "a\nb" }],
      }),
    ).toEqual([]);
  });

  test("the field's rule decides where lines may break; nested fields by their path", () => {
    expect(
      inspect({ name: "a\nb", shippingAddress: { line1: "x\ty", note: "ok\n" }, items: [{ comment: "ok\r\n" }, { comment: "bad\u0000" }] }),
    ).toEqual([
      expect.objectContaining({ type: "controlCharacter", field: "name", in: "body", index: 1, character: "U+000A" }),
      expect.objectContaining({ type: "controlCharacter", field: "shippingAddress.line1", index: 1, character: "U+0009" }),
      expect.objectContaining({ type: "controlCharacter", field: "items[1].comment", index: 3, character: "U+0000" }),
    ]);
    // Without a rule (unknown fields, actions without params) everything is one line.
    expect(new InputInspection().inspect({ extra: "a\nb" }, "body").problems).toEqual([expect.objectContaining({ field: "extra" })]);
  });

  test("prototype keys at any depth, as parsed JSON has them (own properties)", () => {
    const body = JSON.parse('{"__proto__":{"role":"admin"},"a":{"constructor":{"prototype":{}}},"b":[{"__proto__":1}]}');
    expect(inspect(body).map((p) => [p.type, p.field])).toEqual([
      ["prototypeKey", "__proto__"],
      ["prototypeKey", "a.constructor"],
      ["prototypeKey", "b[0].__proto__"],
    ]);
  });

  test("control characters in keys; the query string's raw keys", () => {
    expect(inspect({ "na\u0000me": "x" }, "query")).toEqual([
      expect.objectContaining({ type: "controlCharacter", field: "na\u0000me", in: "query" }),
    ]);
    const keys = new InputInspection().inspectQueryKeys(
      "page=1&__proto__[admin]=1&a[b][constructor]=2&%5F%5Fproto%5F%5F=3&x.prototype=4&search=constructor",
    ).problems;
    expect(keys.map((p) => p.field)).toEqual(["__proto__[admin]", "a[b][constructor]", "__proto__", "x.prototype"]);
    expect(new InputInspection().inspectQueryKeys("bad=%E0%A4%A&search=x").problems).toEqual([]);
  });

  test("limits: string and key lengths, keys, items, values, non-finite numbers", () => {
    const long = "x".repeat(INPUT_LIMITS.maxStringLength + 1);
    expect(inspect({ description: long })).toEqual([
      expect.objectContaining({ type: "stringTooLong", field: "description", expected: INPUT_LIMITS.maxStringLength, actual: long.length }),
    ]);
    expect(inspect({ name: "x".repeat(INPUT_LIMITS.maxStringLength) })).toEqual([]);
    expect(inspect({ ["k".repeat(INPUT_LIMITS.maxKeyLength + 1)]: 1 })).toEqual([expect.objectContaining({ type: "keyTooLong" })]);
    expect(inspect(Object.fromEntries(Array.from({ length: INPUT_LIMITS.maxKeys + 1 }, (_, i) => [`k${i}`, i])))).toEqual([
      expect.objectContaining({ type: "tooManyKeys", field: "body" }),
    ]);
    expect(inspect({ items: Array.from({ length: INPUT_LIMITS.maxItems + 1 }, () => 1) })).toEqual([
      expect.objectContaining({ type: "tooManyItems", field: "items" }),
    ]);
    const many = { a: Array.from({ length: 900 }, () => Array.from({ length: 20 }, () => 0)) };
    expect(inspect(many)).toEqual([expect.objectContaining({ type: "tooManyValues" })]);
    expect(inspect({ n: Infinity, m: 1e308 })).toEqual([expect.objectContaining({ type: "nonFiniteNumber", field: "n" })]);
  });

  test("depth beyond the limit in an already parsed value is refused without recursion", () => {
    let deep: unknown = "x";
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(inspect({ a: deep })).toEqual([expect.objectContaining({ type: "tooDeep", field: `a${"[0]".repeat(31)}` })]);
  });

  test("headers: one line, bounded; at most 20 problems per request", () => {
    const check = new InputInspection()
      .inspectHeader("X-TOTP", "12\u00853")
      .inspectHeader("Authorization", `Bearer ${"a".repeat(INPUT_LIMITS.maxHeaderLength)}`)
      .inspectHeader("Idempotency-Key", undefined);
    expect(check.problems).toEqual([
      expect.objectContaining({ type: "controlCharacter", field: "X-TOTP", in: "header", character: "U+0085" }),
      expect.objectContaining({ type: "stringTooLong", field: "Authorization", in: "header" }),
    ]);
    expect(inspect(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, "\u0000"])))).toHaveLength(20);
  });

  test("values are never echoed back", () => {
    const problems = inspect({ name: "secret\u0000value" });
    expect(JSON.stringify(problems)).not.toContain("secret");
  });
});

describe("isEmailAddress: a new account's address", () => {
  test.each([
    ["ann@example.com", true],
    ["ann+shop@mail.example.co.uk", true],
    ["o'brien@example.ie", true],
    ["user@bücher.de", true],
    ["ceo@shop.example\u0000.attacker.test", false], // finding 6
    ["x1@a.co\u0000", false], // finding 1
    ["ann@localhost", false],
    ["ann@example", false],
    ["a..b@example.com", false],
    ["ann@-example.com", false],
    ["ann@[127.0.0.1]", false],
    ["Ann <ann@example.com>", false],
    ["ann\u202e@example.com", false],
    ["ann@exa\u202emple.com", false],
    ["ann@exa\nmple.com", false],
    [`${"a".repeat(65)}@example.com`, false],
    [`ann@${"a".repeat(250)}.com`, false],
  ])("%j → %s", (email, ok) => {
    expect(isEmailAddress(email)).toBe(ok);
  });
});

describe("customerHistory: an order's history as its customer sees it", () => {
  const history: StatusChange[] = [
    { from: null, to: "pending", at: "2026-01-01T00:00:00.000Z", by: "cust-1" },
    { from: "pending", to: "paid", at: "2026-01-01T00:01:00.000Z", by: "staff-7", reason: "wire transfer matched by Bob" },
    { from: "paid", to: "cancelled", at: "2026-01-01T00:02:00.000Z", by: "cust-1", reason: "changed my mind" },
  ];

  test("no staff ids, no staff notes; the customer's own reasons and the system's stay", () => {
    expect(customerHistory(history, "cust-1")).toEqual([
      { from: null, to: "pending", at: "2026-01-01T00:00:00.000Z", by: "customer" },
      { from: "pending", to: "paid", at: "2026-01-01T00:01:00.000Z", by: "shop" },
      { from: "paid", to: "cancelled", at: "2026-01-01T00:02:00.000Z", by: "customer", reason: "changed my mind" },
    ]);
    expect(
      customerHistory([{ from: "pending", to: "cancelled", at: "t", by: "system", reason: "Not paid within 60 minutes." }], "c"),
    ).toEqual([{ from: "pending", to: "cancelled", at: "t", by: "system", reason: "Not paid within 60 minutes." }]);
    expect(JSON.stringify(customerHistory(history, "cust-1"))).not.toMatch(/staff-7|Bob/);
  });
});

describe("asOAuthInvalidRequest: RFC 6749 §5.2 for the token endpoint", () => {
  test("a validation error becomes 400 invalid_request with the field messages, never cached", () => {
    const validation = new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
      { type: "string", field: "grant_type", message: "The 'grant_type' field must be a string.", actual: 5 },
    ]);
    expect(asOAuthInvalidRequest(toHttpError(validation))).toEqual({
      status: 400,
      headers: { "Cache-Control": "no-store", Pragma: "no-cache" },
      body: { error: "invalid_request", error_description: "The 'grant_type' field must be a string." },
    });
  });

  test("the endpoint's own RFC 6749 errors pass unchanged", () => {
    const own = toHttpError(new OAuthError("invalid_grant", "The refresh token is not valid."));
    expect(asOAuthInvalidRequest(own)).toBe(own);
    expect(own.body).toEqual({ error: "invalid_grant", error_description: "The refresh token is not valid." });
  });

  test("a body the parser refused keeps its message", () => {
    const parse = Object.assign(new Error("Unexpected token"), { type: "entity.parse.failed", status: 400 });
    expect(asOAuthInvalidRequest(toHttpError(parse)).body).toEqual({
      error: "invalid_request",
      error_description: "The request body is not valid JSON.",
    });
  });
});
