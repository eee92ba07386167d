/** The OpenAPI generator's first half: fastest-validator rules → JSON Schema 2020-12. */
import { parseShorthand, toJsonSchema, paramsToJsonSchema, isOptional } from "../../../../mixins/openapi/schema.ts";

describe("fastest-validator → JSON Schema", () => {
  test("shorthand strings", () => {
    expect(parseShorthand("number|integer|min:1|optional")).toEqual({ type: "number", integer: true, min: 1, optional: true });
    expect(parseShorthand("string|no-empty|pattern:^a")).toEqual({ type: "string", empty: false, pattern: "^a" });
    expect(parseShorthand("string[]")).toEqual({ type: "array", items: "string" });
    expect(toJsonSchema("string|min:3|max:5")).toEqual({ type: "string", minLength: 3, maxLength: 5 });
    expect(toJsonSchema("uuid[]")).toEqual({ type: "array", items: { type: "string", format: "uuid" } });
  });

  test("strings: lengths, patterns (string or RegExp), enum, emptiness", () => {
    expect(toJsonSchema({ type: "string", length: 2 })).toEqual({ type: "string", minLength: 2, maxLength: 2 });
    expect(toJsonSchema({ type: "string", pattern: "^[A-Z]{3}$", messages: { stringPattern: "x" } })).toEqual({
      type: "string",
      pattern: "^[A-Z]{3}$",
    });
    expect(toJsonSchema({ type: "string", pattern: /^\d+$/ })).toEqual({ type: "string", pattern: "^\\d+$" });
    // A RegExp that crossed the transporter as JSON arrives as {}: better no pattern than a wrong one.
    expect(toJsonSchema({ type: "string", pattern: {} })).toEqual({ type: "string" });
    expect(toJsonSchema({ type: "string", enum: ["a", "b"], trim: true })).toEqual({ type: "string", enum: ["a", "b"] });
    expect(toJsonSchema({ type: "string", empty: false })).toEqual({ type: "string", minLength: 1 });
  });

  test("numbers, booleans, formats, enums, dates", () => {
    expect(toJsonSchema({ type: "number", integer: true, min: 0, max: 10, convert: true })).toEqual({
      type: "integer",
      minimum: 0,
      maximum: 10,
    });
    expect(toJsonSchema({ type: "number", positive: true })).toEqual({ type: "number", exclusiveMinimum: 0 });
    expect(toJsonSchema({ type: "boolean", convert: true })).toEqual({ type: "boolean" });
    expect(toJsonSchema({ type: "email", max: 254, normalize: true })).toEqual({ type: "string", format: "email", maxLength: 254 });
    expect(toJsonSchema({ type: "uuid" })).toEqual({ type: "string", format: "uuid" });
    expect(toJsonSchema({ type: "url" })).toEqual({ type: "string", format: "uri" });
    expect(toJsonSchema({ type: "enum", values: ["pending", "paid"] })).toEqual({ enum: ["pending", "paid"] });
    expect(toJsonSchema({ type: "date", convert: true })).toEqual({ type: "string", format: "date-time" });
    expect(toJsonSchema({ type: "equal", value: 42 })).toEqual({ const: 42 });
    expect(toJsonSchema({ type: "any" })).toEqual({});
    expect(toJsonSchema({ type: "string", nullable: true, default: "x" })).toEqual({ type: ["string", "null"], default: "x" });
  });

  test("arrays and nested objects: items, sizes, properties, required, strictness", () => {
    const items = {
      type: "array",
      min: 1,
      max: 100,
      items: {
        type: "object",
        strict: true,
        props: {
          productId: { type: "string", max: 64 },
          quantity: { type: "number", integer: true, min: 1 },
          note: { type: "string", optional: true },
        },
      },
    };
    expect(toJsonSchema(items)).toEqual({
      type: "array",
      minItems: 1,
      maxItems: 100,
      items: {
        type: "object",
        properties: { productId: { type: "string", maxLength: 64 }, quantity: { type: "integer", minimum: 1 }, note: { type: "string" } },
        required: ["productId", "quantity"],
        additionalProperties: false,
      },
    });
    // strict: "remove" drops unknown keys silently: they are allowed, not refused.
    expect(toJsonSchema({ type: "object", strict: "remove", props: { a: "string" } })).toEqual({
      type: "object",
      properties: { a: { type: "string" } },
      required: ["a"],
    });
    expect(toJsonSchema({ type: "array", items: "string", unique: true, length: 2 })).toEqual({
      type: "array",
      items: { type: "string" },
      uniqueItems: true,
      minItems: 2,
      maxItems: 2,
    });
  });

  test("alternatives become anyOf; optional-ness of alternatives and defaults", () => {
    expect(toJsonSchema(["string", "number"])).toEqual({ anyOf: [{ type: "string" }, { type: "number" }] });
    expect(toJsonSchema({ type: "multi", rules: ["string", "boolean"] })).toEqual({ anyOf: [{ type: "string" }, { type: "boolean" }] });
    expect(isOptional(["string", "number|optional"])).toBe(true);
    expect(isOptional({ type: "number", default: 1 })).toBe(true);
    expect(isOptional("string")).toBe(false);
  });

  test("an action's params: $$strict → additionalProperties false, $$-keys skipped", () => {
    expect(paramsToJsonSchema({ $$strict: true, name: { type: "string" }, age: "number|optional" })).toEqual({
      type: "object",
      properties: { name: { type: "string" }, age: { type: "number" } },
      required: ["name"],
      additionalProperties: false,
    });
    expect(paramsToJsonSchema({ $$strict: "remove", a: "string" })).not.toHaveProperty("additionalProperties");
    expect(paramsToJsonSchema({})).toEqual({ type: "object", properties: {} });
  });
});
