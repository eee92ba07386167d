/**
 * Requests for every operation an OpenAPI document declares, as fast-check arbitraries:
 * path parameters (real ids the test knows, random and hostile strings), query parameters,
 * the documented headers, and a body in each documented media type (JSON, form, multipart,
 * raw bytes), sometimes malformed, nested too deeply, of the wrong media type or missing.
 */
import fc from "fast-check";
import { controlString, objectValue, PROTOTYPE_KEYS, Raw, toJsonText, valueFor, withKey, type Schema } from "./values.ts";

export interface Operation {
  method: string;
  /** The document's path, e.g. /api/products/{id}. */
  path: string;
  id: string;
  op: Record<string, any>;
}

export interface FuzzRequest {
  method: string;
  /** The concrete path with its query string, e.g. /api/products/abc?search=x. */
  url: string;
  headers: Record<string, string>;
  body?: {
    contentType?: string;
    text?: string;
    bytes?: Uint8Array;
    multipart?: { filename: string; type: string; bytes: Uint8Array } | null;
  };
}

export function operationsOf(doc: any): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries(item))
      ops.push({ method: method.toUpperCase(), path, id: op.operationId ?? `${method} ${path}`, op });
  }
  return ops;
}

/** Follows `$ref: "#/..."` within the document. */
export function resolver(doc: any) {
  return function resolve<T = Schema>(value: any): T {
    let v = value;
    for (let i = 0; v && typeof v === "object" && typeof v.$ref === "string" && i < 10; i++) {
      v = (v.$ref as string)
        .replace(/^#\//, "")
        .split("/")
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
        .reduce((node: any, key) => node?.[key], doc);
    }
    return v as T;
  };
}

/** Path segments that would not survive URL normalization or would name another route. */
const unusableSegment = (s: string) =>
  s === "" || s === "." || s === ".." || /[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""));

function pathValue(name: string, schema: Schema, known: Record<string, string[]>, resolve: (s: Schema) => Schema): fc.Arbitrary<string> {
  const ids = known[name] ?? [];
  const text = valueFor(schema, resolve, 0.3)
    .map((v) => (v instanceof Raw ? v.text : typeof v === "object" ? (JSON.stringify(v) ?? "x") : String(v)))
    .filter((s) => !unusableSegment(s));
  return ids.length
    ? fc.oneof({ arbitrary: fc.constantFrom(...ids), weight: 3 }, { arbitrary: fc.uuid(), weight: 1 }, { arbitrary: text, weight: 3 })
    : fc.oneof(fc.uuid(), text);
}

/** qs-style query text for one parameter value (objects and arrays as brackets). */
function queryPairs(name: string, value: unknown, depth = 0): [string, string][] {
  if (value instanceof Raw) return [[name, value.text.slice(0, 2000)]];
  if (value !== null && typeof value === "object" && depth < 3) {
    return Object.entries(value).flatMap(([k, v]) => queryPairs(`${name}[${Array.isArray(value) ? "" : k}]`, v, depth + 1));
  }
  return [[name, value === null ? "" : String(value)]];
}

const encode = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "?")); // an unpaired surrogate cannot be percent-encoded
  }
};

function queryArbitrary(params: any[], resolve: (s: Schema) => Schema): fc.Arbitrary<string> {
  const model = Object.fromEntries(params.map((p) => [p.name, valueFor(p.schema, resolve, 0.3)]));
  const required = params.filter((p) => p.required).map((p) => p.name);
  const values = fc.record(model, { requiredKeys: required as never[], noNullPrototype: true }) as fc.Arbitrary<Record<string, unknown>>;
  const extra = fc.oneof(
    fc.constant<[string, string][]>([]),
    fc.constantFrom(...PROTOTYPE_KEYS).map((k): [string, string][] => [[`${k}[x]`, "1"]]),
    fc.tuple(fc.string({ maxLength: 8 }), controlString()).map(([k, v]): [string, string][] => [[k || "k", v]]),
  );
  return fc.tuple(values, extra, fc.boolean()).map(([v, more, withExtra]) => {
    const pairs = Object.entries(v).flatMap(([k, value]) => queryPairs(k, value));
    if (withExtra) pairs.push(...more);
    return pairs.map(([k, value]) => `${encode(k)}=${encode(value)}`).join("&");
  });
}

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

function bodyArbitrary(op: Operation, resolve: (s: Schema) => Schema): fc.Arbitrary<FuzzRequest["body"] | undefined> {
  const content = op.op.requestBody?.content as Record<string, { schema?: Schema }> | undefined;
  if (!content) return fc.constant(undefined);
  const variants: fc.Arbitrary<FuzzRequest["body"] | undefined>[] = [];
  for (const [type, media] of Object.entries(content)) {
    const schema = resolve(media.schema ?? {});
    if (type === "application/json") {
      const value = typeOf(schema) === "object" ? objectValue(schema, resolve, 0.25) : valueFor(schema, resolve, 0.25);
      variants.push(value.map((v) => ({ contentType: "application/json", text: toJsonText(v) })));
    } else if (type === "application/x-www-form-urlencoded") {
      variants.push(
        objectValue(schema, resolve, 0.25).map((v) => ({
          contentType: type,
          text: Object.entries(v)
            .flatMap(([k, value]) => queryPairs(k, value))
            .map(([k, value]) => `${encode(k)}=${encode(value)}`)
            .join("&"),
        })),
      );
    } else if (type === "multipart/form-data") {
      const file = fc.record({
        filename: fc.oneof(
          fc.constantFrom("dot.png", "a.txt", "../../etc/passwd", "x".repeat(300), "résumé.pdf"),
          fc.string({ maxLength: 20 }),
        ),
        type: fc.constantFrom("image/png", "image/jpeg", "text/plain", "application/octet-stream", "text/html", ""),
        bytes: fc.oneof(
          fc.constant(PNG),
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([...PNG, ...b])),
        ),
      });
      variants.push(
        fc.oneof({ arbitrary: file.map((f) => ({ multipart: f })), weight: 5 }, { arbitrary: fc.constant({ multipart: null }), weight: 1 }),
      );
    } else {
      variants.push(fc.record({ contentType: fc.constantFrom(type, "image/png", "text/plain"), bytes: fc.uint8Array({ maxLength: 64 }) }));
    }
  }
  // Whatever the operation takes: sometimes a body it cannot take.
  const broken = fc.oneof(
    fc.constantFrom("{", '{"a":', "[1,]", "nul", '{"a":1}}', "\u0000").map((text) => ({ contentType: "application/json", text })),
    fc.constantFrom(33, 10_000).map((d) => ({ contentType: "application/json", text: `{"a":${"[".repeat(d)}${"]".repeat(d)}}` })),
    fc
      .constantFrom("text/plain", "application/xml", "multipart/form-data; boundary=x")
      .map((contentType) => ({ contentType, text: "a=1" })),
    fc.constant({ contentType: "application/json", text: toJsonText(withKey({}, "__proto__", { admin: true })) }),
    fc.constant(undefined),
  );
  return fc.oneof({ arbitrary: fc.oneof(...variants), weight: 6 }, { arbitrary: broken, weight: 1 });
}

function typeOf(schema: Schema): string | undefined {
  return typeof schema.type === "string" ? schema.type : schema.properties ? "object" : undefined;
}

/** Requests for one operation. `known` maps path parameter names to ids that exist (e.g. id → a product's). */
export function requestsFor(op: Operation, doc: any, known: Record<string, string[]>): fc.Arbitrary<FuzzRequest> {
  const resolve = resolver(doc);
  const parameters = ((op.op.parameters ?? []) as any[]).map((p) => resolve<any>(p));
  const pathParams = parameters.filter((p) => p.in === "path");
  const queryParams = parameters.filter((p) => p.in === "query");
  const headerParams = parameters.filter((p) => p.in === "header");

  const path = fc
    .record(Object.fromEntries(pathParams.map((p) => [p.name, pathValue(p.name, resolve(p.schema ?? {}), known, resolve)])), {
      noNullPrototype: true,
    })
    .map((values) => op.path.replace(/\{(\w+)\}/g, (_m, name: string) => encode((values as Record<string, string>)[name] ?? "x")));
  const query = queryParams.length ? fc.option(queryArbitrary(queryParams, resolve), { freq: 4 }) : fc.constant(null);
  const headers = fc.record(
    Object.fromEntries(
      headerParams.map((p) => [
        p.name,
        // fetch sends printable Latin-1 and TAB in a header; other controls cannot be sent at all.
        fc.oneof(
          valueFor(p.schema ?? {}, resolve, 0).map(String),
          fc.string({ unit: fc.constantFrom(..."\tab~ \u0085\u00ff+/=".split("")), maxLength: 300 }),
        ),
      ]),
    ),
    { requiredKeys: [] as never[], noNullPrototype: true },
  ) as fc.Arbitrary<Record<string, string>>;

  return fc.record({ path, query, headers, body: bodyArbitrary(op, resolve) }).map(({ path: p, query: q, headers: h, body }) => ({
    method: op.method,
    url: q ? `${p}?${q}` : p,
    headers: h,
    ...(body ? { body } : {}),
  }));
}

/** One line to paste into a terminal: the request that failed. */
export function reproduction(req: FuzzRequest, principal: string): string {
  const headers = Object.entries(req.headers).map(
    ([k, v]) => ` -H ${JSON.stringify(`${k}: ${v.length > 100 ? `${v.slice(0, 60)}…(${v.length} chars)` : v}`)}`,
  );
  if (principal !== "anonymous") headers.unshift(` -H "Authorization: Bearer <${principal}'s token>"`);
  if (req.body?.contentType) headers.push(` -H ${JSON.stringify(`Content-Type: ${req.body.contentType}`)}`);
  let data = "";
  if (req.body?.text !== undefined) {
    const text =
      req.body.text.length > 400
        ? `${req.body.text.slice(0, 200)}…(${req.body.text.length} chars)…${req.body.text.slice(-100)}`
        : req.body.text;
    data = ` --data-raw ${JSON.stringify(text)}`;
  } else if (req.body?.bytes) {
    data = ` --data-binary <${req.body.bytes.length} bytes: ${Buffer.from(req.body.bytes).toString("hex").slice(0, 64)}>`;
  } else if (req.body?.multipart !== undefined) {
    const f = req.body.multipart;
    data = f ? ` -F ${JSON.stringify(`file=@${f.filename};type=${f.type}`)} <${f.bytes.length} bytes>` : " (multipart without a file part)";
  }
  const url = req.url.length > 400 ? `${req.url.slice(0, 300)}…(${req.url.length} chars)` : req.url;
  return `curl -X ${req.method} ${JSON.stringify(`http://localhost:3000${url}`)}${headers.join("")}${data}`;
}
