/**
 * fastest-validator rules (the `params` of an action) → JSON Schema 2020-12, the dialect of
 * OpenAPI 3.1. Only what the validator checks is said: types, lengths, ranges, patterns,
 * enums, formats, required fields and strictness. Rules it cannot express (custom
 * functions, `checker`s) become an unconstrained schema rather than a wrong one.
 */

export type JsonSchema = Record<string, unknown>;
/** A rule as moleculer keeps it: an object, a shorthand string ("string|min:3"), or alternatives. */
export type Rule = string | Record<string, unknown> | Rule[];
export type ParamsSchema = Record<string, unknown>;

/** "number|integer|min:1|optional" → { type: "number", integer: true, min: 1, optional: true } (the validator's own parser, in short). */
export function parseShorthand(text: string): Record<string, unknown> {
  const [head = "any", ...flags] = text.split("|").map((s) => s.trim());
  const rule: Record<string, unknown> = head.endsWith("[]") ? { type: "array", items: head.slice(0, -2) } : { type: head };
  for (const flag of flags) {
    const i = flag.indexOf(":");
    if (i === -1) {
      if (flag.startsWith("no-")) rule[flag.slice(3)] = false;
      else rule[flag] = true;
      continue;
    }
    const raw = flag.slice(i + 1).trim();
    rule[flag.slice(0, i).trim()] =
      raw === "true" ? true : raw === "false" ? false : raw !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
  }
  return rule;
}

/** Is this rule optional (not in `required`)? */
export function isOptional(rule: Rule): boolean {
  if (Array.isArray(rule)) return rule.some(isOptional);
  const r = typeof rule === "string" ? parseShorthand(rule) : rule;
  return r.optional === true || r.default !== undefined;
}

/** The `pattern` of a rule as JSON Schema wants it: a string. A RegExp that crossed the wire as JSON is lost ({}). */
function patternOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof RegExp) return value.source;
  return undefined;
}

function numberLimits(r: Record<string, unknown>, s: JsonSchema, names: { min: string; max: string }) {
  if (typeof r.min === "number") s[names.min] = r.min;
  if (typeof r.max === "number") s[names.max] = r.max;
  if (typeof r.length === "number") {
    s[names.min] = r.length;
    s[names.max] = r.length;
  }
}

function convertOne(r: Record<string, unknown>): JsonSchema {
  const s: JsonSchema = {};
  switch (r.type) {
    case "string": {
      s.type = "string";
      numberLimits(r, s, { min: "minLength", max: "maxLength" });
      if (r.empty === false && s.minLength === undefined) s.minLength = 1;
      const pattern = patternOf(r.pattern);
      if (pattern !== undefined) s.pattern = pattern;
      if (Array.isArray(r.enum)) s.enum = r.enum;
      if (r.numeric) s.pattern ??= "^-?[0-9]+(\\.[0-9]+)?$";
      if (r.alpha) s.pattern ??= "^[a-zA-Z]+$";
      if (r.alphanum) s.pattern ??= "^[a-zA-Z0-9]+$";
      if (r.alphadash) s.pattern ??= "^[a-zA-Z0-9_-]+$";
      if (r.hex) s.pattern ??= "^[0-9a-fA-F]+$";
      if (r.base64) s.contentEncoding = "base64";
      break;
    }
    case "number": {
      s.type = r.integer ? "integer" : "number";
      if (typeof r.min === "number") s.minimum = r.min;
      if (typeof r.max === "number") s.maximum = r.max;
      if (typeof r.equal === "number") s.const = r.equal;
      if (r.positive) s.exclusiveMinimum = 0;
      if (r.negative) s.exclusiveMaximum = 0;
      break;
    }
    case "boolean":
      s.type = "boolean";
      break;
    case "email":
      Object.assign(s, { type: "string", format: "email" });
      numberLimits(r, s, { min: "minLength", max: "maxLength" });
      break;
    case "uuid":
      Object.assign(s, { type: "string", format: "uuid" });
      break;
    case "url":
      Object.assign(s, { type: "string", format: "uri" });
      break;
    case "date":
      // Over HTTP a date arrives as text; with `convert` the validator turns it into a Date.
      Object.assign(s, { type: "string", format: "date-time" });
      break;
    case "enum":
      if (Array.isArray(r.values)) s.enum = r.values;
      break;
    case "equal":
      s.const = r.value;
      break;
    case "array": {
      s.type = "array";
      if (r.items !== undefined) s.items = toJsonSchema(r.items as Rule);
      numberLimits(r, s, { min: "minItems", max: "maxItems" });
      if (r.unique) s.uniqueItems = true;
      if (r.empty === false && s.minItems === undefined) s.minItems = 1;
      if (Array.isArray(r.enum)) s.items = { enum: r.enum };
      break;
    }
    case "object": {
      s.type = "object";
      const props = (r.props ?? r.properties) as ParamsSchema | undefined;
      if (props) Object.assign(s, objectSchema(props, r.strict === true));
      if (typeof r.minProps === "number") s.minProperties = r.minProps;
      if (typeof r.maxProps === "number") s.maxProperties = r.maxProps;
      break;
    }
    case "record":
      s.type = "object";
      if (r.value !== undefined) s.additionalProperties = toJsonSchema(r.value as Rule);
      break;
    case "multi":
      return Array.isArray(r.rules) ? toJsonSchema(r.rules as Rule[]) : {};
    default:
      // any, custom, function, class, …: nothing a JSON Schema could say truthfully.
      break;
  }
  if (r.nullable === true && typeof s.type === "string") s.type = [s.type, "null"];
  if (r.default !== undefined && typeof r.default !== "function") s.default = r.default;
  if (typeof r.description === "string") s.description = r.description;
  return s;
}

/** One rule (or alternatives) → a JSON Schema. */
export function toJsonSchema(rule: Rule): JsonSchema {
  if (Array.isArray(rule)) {
    const alternatives = rule.map(toJsonSchema);
    return alternatives.length === 1 ? alternatives[0]! : { anyOf: alternatives };
  }
  return convertOne(typeof rule === "string" ? parseShorthand(rule) : rule);
}

/** The properties of an object rule (or of an action's params): `properties`, `required`, strictness. `$`-keys are the validator's own. */
export function objectSchema(props: ParamsSchema, strict: boolean): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, rule] of Object.entries(props)) {
    if (name.startsWith("$$") || rule === undefined || rule === null || typeof rule === "boolean") continue;
    properties[name] = toJsonSchema(rule as Rule);
    if (!isOptional(rule as Rule)) required.push(name);
  }
  const s: JsonSchema = { type: "object", properties };
  if (required.length) s.required = required;
  if (strict) s.additionalProperties = false;
  return s;
}

/** An action's `params` as the JSON Schema of an object (`$$strict: true` → no other properties). */
export function paramsToJsonSchema(params: ParamsSchema): JsonSchema {
  return objectSchema(params, params.$$strict === true);
}
