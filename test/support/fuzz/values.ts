/**
 * fast-check arbitraries for the values of a JSON Schema (the dialect of OpenAPI 3.1), mixed
 * with hostile ones: control characters, unpaired surrogates, bidirectional overrides, deep
 * nesting, huge and non-finite numbers, prototype keys, oversized strings and arrays, and
 * values of the wrong type. Valid-looking values (types, bounds, enums, patterns, formats)
 * get past the validators, so the handlers and the database are fuzzed as well.
 *
 * Some values cannot be written as JSON from JavaScript: `Raw` is spliced into the body text
 * as it is (a depth of 10,000, a number like 1e400), so `toJsonText` serializes bodies.
 */
import fc from "fast-check";

export type Schema = Record<string, unknown>;

/** JSON text to put into a body as it is. */
export class Raw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text.length > 80 ? `${this.text.slice(0, 40)}…(${this.text.length} chars)` : this.text;
  }
}

const nested = (depth: number) => new Raw("[".repeat(depth) + "]".repeat(depth));

/** JSON text of a value that may hold `Raw` parts (and own `__proto__` keys, which JSON.stringify keeps). */
export function toJsonText(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Raw) {
      raws.push(v.text);
      return `\u0000RAW${raws.length - 1}\u0000`;
    }
    return v;
  });
  return text === undefined ? "null" : text.replace(/"\\u0000RAW(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)]!);
}

/** An object with `key` as an own, enumerable property, whatever the key (`__proto__` included). */
export function withKey(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object))
    Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Characters the input boundary refuses (all but the first three also in multi-line fields). */
export const CONTROL_CHARACTERS = [
  "\t",
  "\n",
  "\r",
  "\u0000",
  "\u0001",
  "\u0007",
  "\b",
  "\u000b",
  "\u000c",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u009f",
  "\u2028",
  "\u2029",
  "\u202e",
  "\u2066",
  "\ud800",
  "\udfff",
];

export const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"];

/** A string with one control character (or unpaired surrogate) somewhere. */
export const controlString = (): fc.Arbitrary<string> =>
  fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...CONTROL_CHARACTERS), fc.string({ maxLength: 8 })).map(([a, c, b]) => a + c + b);

/** Text from all over Unicode: accents, scripts, emoji, joiners, combining marks. */
const unicodeString = (maxLength: number) =>
  fc.oneof(
    fc.string({ unit: "grapheme", maxLength }),
    fc.string({ unit: "grapheme-composite", maxLength }),
    fc.constantFrom("Zoë", "東京", "👩‍👩‍👧", "e\u0301", "שלום", "\u200dx", " "),
  );

const HUGE_NUMBERS = [
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e21,
  1e308,
  -1e308,
  5e-324,
  -0,
  0.1,
  1.5,
];
const RAW_NUMBERS = ["1e400", "-1e400", "123456789012345678901234567890", "1E+2", "0.0000000000000000000000001", "-0.0"];

/** Values of no particular type: what a wrong-type field gets. */
export const anyValue = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(...HUGE_NUMBERS),
    fc.constantFrom(...RAW_NUMBERS).map((t) => new Raw(t)),
    fc.string({ maxLength: 20 }),
    controlString(),
    fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  );

/** Hostile values, whatever the schema says. */
export function hostileValue(schema: Schema): fc.Arbitrary<unknown> {
  const maxLength = typeof schema.maxLength === "number" ? schema.maxLength : 200;
  return fc.oneof(
    { arbitrary: controlString(), weight: 4 },
    { arbitrary: anyValue(), weight: 3 },
    { arbitrary: fc.constantFrom(33, 64, 10_000).map(nested), weight: 1 },
    { arbitrary: fc.constantFrom(maxLength + 1, 16_385, 70_000).map((n) => "x".repeat(n)), weight: 1 },
    { arbitrary: fc.constantFrom(...PROTOTYPE_KEYS).map((k) => withKey({}, k, { role: "admin", isAdmin: true })), weight: 1 },
    { arbitrary: unicodeString(20), weight: 2 },
  );
}

/** First alternative of anyOf/oneOf, type arrays reduced to their first non-null type. */
function typeOf(schema: Schema): string | undefined {
  if (Array.isArray(schema.type)) return (schema.type as string[]).find((t) => t !== "null");
  if (typeof schema.type === "string") return schema.type;
  if (schema.properties) return "object";
  return undefined;
}

function stringValue(schema: Schema): fc.Arbitrary<string> {
  const min = typeof schema.minLength === "number" ? schema.minLength : 0;
  const max = typeof schema.maxLength === "number" ? schema.maxLength : 64;
  switch (schema.format) {
    case "email":
      return fc.oneof(
        fc.emailAddress(),
        fc.constantFrom("ann@example.com", "a@b", "ann@localhost", "@x.com", "ann@@x.com", "a".repeat(250) + "@x.com"),
      );
    case "uuid":
      return fc.uuid();
    case "date-time":
      return fc.oneof(
        fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }).map((d) => d.toISOString()),
        fc.constantFrom("2026-02-30", "yesterday", "0000-00-00T00:00:00Z"),
      );
    case "uri":
      return fc.webUrl();
    default:
      break;
  }
  const around = fc.constantFrom(...new Set([min, max, Math.max(0, min - 1), max + 1])).map((n) => "a".repeat(n));
  if (typeof schema.pattern === "string") {
    try {
      return fc.oneof(
        { arbitrary: fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= max), weight: 4 },
        { arbitrary: fc.string({ maxLength: Math.min(max, 30) }), weight: 1 },
        { arbitrary: around, weight: 1 },
      );
    } catch {
      // a pattern fast-check cannot generate from: plain strings
    }
  }
  return fc.oneof(
    { arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, 40) }), weight: 4 },
    { arbitrary: unicodeString(Math.min(max, 20)).filter((s) => s.length >= min), weight: 1 },
    { arbitrary: around, weight: 1 },
  );
}

function numberValue(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const min = typeof schema.minimum === "number" ? schema.minimum : -(2 ** 31);
  const max = typeof schema.maximum === "number" ? schema.maximum : 2 ** 31 - 1;
  const inside = integer
    ? fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max: Math.min(max, Number.MAX_SAFE_INTEGER) })
    : fc.double({ min, max, noNaN: true });
  return fc.oneof({ arbitrary: inside, weight: 4 }, { arbitrary: fc.constantFrom(min, max, min - 1, max + 1, 0, 1), weight: 2 });
}

/**
 * A value for `schema`: mostly one that fits, sometimes a hostile one (`hostility` is the
 * share of hostile values at each level, 0..1). `resolve` follows `$ref`s into the document.
 */
export function valueFor(schema: Schema | undefined, resolve: (s: Schema) => Schema, hostility = 0.25, depth = 0): fc.Arbitrary<unknown> {
  const fitting = fittingValue(schema ? resolve(schema) : {}, resolve, hostility, depth);
  if (hostility <= 0) return fitting;
  const weight = Math.round(hostility * 100);
  return fc.oneof({ arbitrary: fitting, weight: 100 - weight }, { arbitrary: hostileValue(schema ?? {}), weight });
}

function fittingValue(schema: Schema, resolve: (s: Schema) => Schema, hostility: number, depth: number): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ("const" in schema) return fc.constant(schema.const);
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => valueFor(s, resolve, hostility, depth)));
  switch (typeOf(schema)) {
    case "string":
      return stringValue(schema);
    case "integer":
      return numberValue(schema, true);
    case "number":
      return numberValue(schema, false);
    case "boolean":
      return fc.boolean();
    case "array": {
      const min = typeof schema.minItems === "number" ? schema.minItems : 0;
      const max = typeof schema.maxItems === "number" ? schema.maxItems : 5;
      const item = depth > 4 ? anyValue() : valueFor(schema.items as Schema | undefined, resolve, hostility, depth + 1);
      return fc.oneof(
        { arbitrary: fc.array(item, { minLength: min, maxLength: Math.max(min, Math.min(max, 4)) }), weight: 6 },
        {
          arbitrary: fc.constantFrom(...new Set([Math.max(0, min - 1), max + 1])).map((n) => Array.from({ length: n }, () => 1)),
          weight: 1,
        },
      );
    }
    case "object":
      return depth > 4 ? fc.constant({}) : objectValue(schema, resolve, hostility, depth);
    default:
      return anyValue();
  }
}

/** An object for an object schema: its properties (required ones mostly present), sometimes an unknown or prototype key. */
export function objectValue(
  schema: Schema,
  resolve: (s: Schema) => Schema,
  hostility: number,
  depth = 0,
): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  const model = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, valueFor(s, resolve, hostility, depth + 1)]));
  const keys = Object.keys(model);
  const record = fc.record(model, { requiredKeys: keys.filter((k) => required.has(k)) as never[], noNullPrototype: true }) as fc.Arbitrary<
    Record<string, unknown>
  >;
  const loose = fc.record(model, { requiredKeys: [] as never[], noNullPrototype: true }) as fc.Arbitrary<Record<string, unknown>>;
  const extraKey = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 10 }), controlString());
  return fc.oneof(
    { arbitrary: record, weight: 8 },
    { arbitrary: loose, weight: 1 },
    { arbitrary: fc.tuple(record, extraKey, anyValue()).map(([o, k, v]) => withKey(o, k, v)), weight: hostility > 0 ? 2 : 0 },
  );
}
