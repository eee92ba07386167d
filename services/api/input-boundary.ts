/**
 * The input boundary: what a client may send at all, whatever the action. The gateway applies
 * it to every request before the request reaches an action (services/api.service.ts), so no
 * handler, validator or database ever sees a value that fails it:
 *
 *   JSON nesting deeper than 32 levels     400 NESTING_TOO_DEEP (counted on the raw bytes,
 *                                          before JSON.parse, without recursion)
 *   control characters in any string or key 422 (C0 and C1 controls, DEL, bidirectional
 *                                          overrides and isolates, unpaired surrogates;
 *                                          TAB, LF and CR only in fields whose rule says
 *                                          `multiline: true`)
 *   prototype keys (__proto__, constructor,
 *   prototype) at any depth, also in the
 *   query string                           422
 *   oversized strings, keys, objects,
 *   arrays or values in all                422
 *
 * Each 422 lists every problem found (up to MAX_PROBLEMS) as `{type, field, in, message}`,
 * `in` being body, query, path or header. Values are never echoed back.
 *
 * The checks are plain functions of plain values (no moleculer, no HTTP): the gateway calls
 * them, the unit tests call them directly.
 */
import { refusedCharacter } from "../../lib/characters.ts";
import { invalidAll } from "../../lib/errors.ts";
import { Errors } from "moleculer";
import { parseShorthand } from "../../mixins/openapi/schema.ts";

export const INPUT_LIMITS = {
  /** Levels of arrays and objects in a JSON body (the body itself is level 1). */
  maxDepth: 32,
  /** Characters in one string value (the largest field an action takes is 5,000). */
  maxStringLength: 16_384,
  /** Characters in one object key. */
  maxKeyLength: 128,
  /** Keys in one object. */
  maxKeys: 256,
  /** Items in one array. */
  maxItems: 1_000,
  /** Strings, numbers, booleans, nulls, arrays and objects in one request, all places together. */
  maxValues: 10_000,
  /** Characters in a header an action reads. */
  maxHeaderLength: 8_192,
} as const;

/** Keys that would reach an object's prototype when merged or assigned. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** At most this many problems are reported for one request. */
export const MAX_PROBLEMS = 20;

export type InputLocation = "body" | "query" | "path" | "header";

export interface InputProblem {
  type:
    | "controlCharacter"
    | "malformedUnicode"
    | "prototypeKey"
    | "stringTooLong"
    | "keyTooLong"
    | "tooManyKeys"
    | "tooManyItems"
    | "tooManyValues"
    | "tooDeep"
    | "nonFiniteNumber";
  field: string;
  in: InputLocation;
  message: string;
  /** controlCharacter: where in the string, and which character (U+0000). */
  index?: number;
  character?: string;
  /** Limits: the limit and what was sent. */
  expected?: number;
  actual?: number;
}

const ONE_LINE = " (this field is one line)";

/**
 * Is `json` (the raw body) nested deeper than `maxDepth` levels of arrays and objects? One
 * pass over the bytes, no recursion and no parsing: brackets inside strings do not count.
 * UTF-8 continuation bytes never equal an ASCII byte, so bytes are as good as characters.
 */
export function jsonDepthExceeds(json: Buffer | string, maxDepth: number = INPUT_LIMITS.maxDepth): boolean {
  const isText = typeof json === "string";
  const length = json.length;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < length; i++) {
    const c = isText ? json.charCodeAt(i) : json[i]!;
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** The 400 for a body nested too deeply. */
export function nestingTooDeep(maxDepth: number = INPUT_LIMITS.maxDepth) {
  return new Errors.MoleculerClientError(`The JSON body is nested deeper than ${maxDepth} levels.`, 400, "NESTING_TOO_DEEP", { maxDepth });
}

/** The 422 listing what the boundary refused. */
export function inputRefused(problems: InputProblem[]) {
  return invalidAll(problems, { message: "The request contains values this API does not accept.", type: "INPUT_REFUSED" });
}

// ---- what an action's params say about a field ----

type RuleObject = Record<string, unknown>;

/** A rule as its alternatives, each an object ("string|max:3" and [a, b] alike). */
function alternatives(rule: unknown): RuleObject[] {
  if (Array.isArray(rule)) return rule.flatMap(alternatives);
  if (typeof rule === "string") return [parseShorthand(rule)];
  if (rule && typeof rule === "object") {
    const r = rule as RuleObject;
    return r.type === "multi" && Array.isArray(r.rules) ? r.rules.flatMap(alternatives) : [r];
  }
  return [];
}

/** The rule of the value under `key` of an object ruled by `rule` (the params map itself at the top). */
function childRule(rule: unknown, key: string): unknown {
  const found: unknown[] = [];
  for (const r of alternatives(rule)) {
    const props = (r.props ?? r.properties) as RuleObject | undefined;
    if (props && Object.hasOwn(props, key)) found.push(props[key]);
    else if (r.type === "record" && r.value !== undefined) found.push(r.value);
  }
  return found.length ? found : undefined;
}

function itemRule(rule: unknown): unknown {
  const found = alternatives(rule)
    .map((r) => r.items)
    .filter((i) => i !== undefined);
  return found.length ? found : undefined;
}

/** Does the rule allow several lines (`multiline: true` on the rule or one of its alternatives)? */
function isMultiline(rule: unknown): boolean {
  return alternatives(rule).some((r) => r.multiline === true);
}

/** An action's `params` as the rule of the whole object (its keys are the fields). */
export function paramsRule(params: unknown): unknown {
  return params && typeof params === "object" ? { type: "object", props: params } : undefined;
}

// ---- the walk ----

/** Counts values across every place of one request, and collects the problems. */
export class InputInspection {
  readonly problems: InputProblem[] = [];
  private values = 0;

  get full(): boolean {
    return this.problems.length >= MAX_PROBLEMS;
  }

  private add(problem: InputProblem): void {
    if (!this.full) this.problems.push(problem);
  }

  private text(text: string, field: string, where: InputLocation, multiline: boolean, what: "value" | "key"): void {
    const max = what === "key" ? INPUT_LIMITS.maxKeyLength : INPUT_LIMITS.maxStringLength;
    if (text.length > max) {
      this.add({
        type: what === "key" ? "keyTooLong" : "stringTooLong",
        field,
        in: where,
        message: `The ${what === "key" ? "key" : "value"} of '${field}' is longer than ${max} characters.`,
        expected: max,
        actual: text.length,
      });
      return;
    }
    const bad = refusedCharacter(text, multiline);
    if (!bad) return;
    if (bad.surrogate) {
      this.add({
        type: "malformedUnicode",
        field,
        in: where,
        message: `The ${what} of '${field}' is not well-formed Unicode (an unpaired surrogate).`,
        index: bad.index,
      });
    } else {
      this.add({
        type: "controlCharacter",
        field,
        in: where,
        message: `The ${what} of '${field}' contains the control character ${bad.character}${multiline ? "" : ONE_LINE}.`,
        index: bad.index,
        character: bad.character,
      });
    }
  }

  /**
   * Check `value` (a parsed body, a query object, a path or header value) found at `where`;
   * `rule` is its fastest-validator rule when known (it decides which strings may hold
   * several lines). Iterative: no depth of input can exhaust the stack.
   */
  inspect(value: unknown, where: InputLocation, rule?: unknown, field = ""): this {
    const stack: { value: unknown; field: string; rule: unknown; depth: number }[] = [{ value, field, rule, depth: 1 }];
    while (stack.length && !this.full) {
      const item = stack.pop()!;
      if (++this.values > INPUT_LIMITS.maxValues) {
        this.add({
          type: "tooManyValues",
          field: item.field || where,
          in: where,
          message: `The request holds more than ${INPUT_LIMITS.maxValues} values.`,
          expected: INPUT_LIMITS.maxValues,
        });
        return this;
      }
      const v = item.value;
      if (typeof v === "string") {
        this.text(v, item.field || where, where, isMultiline(item.rule), "value");
      } else if (typeof v === "number") {
        if (!Number.isFinite(v))
          this.add({
            type: "nonFiniteNumber",
            field: item.field || where,
            in: where,
            message: `The number '${item.field || where}' is out of range.`,
          });
      } else if (v !== null && typeof v === "object") {
        if (item.depth > INPUT_LIMITS.maxDepth) {
          this.add({
            type: "tooDeep",
            field: item.field || where,
            in: where,
            message: `'${item.field || where}' is nested deeper than ${INPUT_LIMITS.maxDepth} levels.`,
            expected: INPUT_LIMITS.maxDepth,
          });
          continue;
        }
        if (Array.isArray(v)) {
          if (v.length > INPUT_LIMITS.maxItems) {
            this.add({
              type: "tooManyItems",
              field: item.field || where,
              in: where,
              message: `'${item.field || where}' has more than ${INPUT_LIMITS.maxItems} items.`,
              expected: INPUT_LIMITS.maxItems,
              actual: v.length,
            });
            continue;
          }
          const items = itemRule(item.rule);
          for (let i = v.length - 1; i >= 0; i--)
            stack.push({ value: v[i], field: `${item.field}[${i}]`, rule: items, depth: item.depth + 1 });
        } else {
          const keys = Object.keys(v);
          if (keys.length > INPUT_LIMITS.maxKeys) {
            this.add({
              type: "tooManyKeys",
              field: item.field || where,
              in: where,
              message: `'${item.field || where}' has more than ${INPUT_LIMITS.maxKeys} keys.`,
              expected: INPUT_LIMITS.maxKeys,
              actual: keys.length,
            });
            continue;
          }
          for (let i = keys.length - 1; i >= 0; i--) {
            const key = keys[i]!;
            const path = item.field ? `${item.field}.${key}` : key;
            if (PROTOTYPE_KEYS.has(key)) {
              this.add({ type: "prototypeKey", field: path, in: where, message: `'${key}' is not allowed as a key.` });
              continue;
            }
            this.text(key, path, where, false, "key");
            stack.push({ value: (v as Record<string, unknown>)[key], field: path, rule: childRule(item.rule, key), depth: item.depth + 1 });
          }
        }
      }
    }
    return this;
  }

  /**
   * The keys of a raw query string (`a[b][__proto__]=1`), which the query parser would drop
   * silently when they name a prototype key: refused instead.
   */
  inspectQueryKeys(rawQuery: string): this {
    for (const part of rawQuery.split("&")) {
      if (this.full) break;
      const rawKey = part.split("=", 1)[0]!;
      let key: string;
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, " "));
      } catch {
        key = rawKey;
      }
      if (key.split(/[[\].]/).some((segment) => PROTOTYPE_KEYS.has(segment))) {
        this.add({
          type: "prototypeKey",
          field: key.slice(0, INPUT_LIMITS.maxKeyLength),
          in: "query",
          message: "Prototype keys (__proto__, constructor, prototype) are not allowed.",
        });
      }
    }
    return this;
  }

  /** A request header an action reads (one line, bounded). */
  inspectHeader(name: string, value: string | string[] | undefined): this {
    if (value === undefined) return this;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v.length > INPUT_LIMITS.maxHeaderLength) {
        this.add({
          type: "stringTooLong",
          field: name,
          in: "header",
          message: `The ${name} header is longer than ${INPUT_LIMITS.maxHeaderLength} characters.`,
          expected: INPUT_LIMITS.maxHeaderLength,
          actual: v.length,
        });
      } else {
        this.text(v, name, "header", false, "value");
      }
    }
    return this;
  }
}
