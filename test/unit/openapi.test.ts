/**
 * The OpenAPI generator on its own: fastest-validator rules → JSON Schema 2020-12, and
 * aliases + action definitions → operations (parameters, bodies, security, responses).
 * The document of the real gateway is checked in test/integration/openapi.test.ts.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { parseShorthand, toJsonSchema, paramsToJsonSchema, isOptional } from "../../mixins/openapi/schema.ts";
import { generateOpenApi, openApiPath, humanize, successStatuses, type ActionInfo, type AliasInfo } from "../../mixins/openapi/generate.ts";
import { docsPage, swaggerUiFile, INITIALIZER_FILE, SWAGGER_UI_FILES } from "../../mixins/openapi/ui.ts";

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
    expect(toJsonSchema({ type: "string", pattern: "^[A-Z]{3}$", messages: { stringPattern: "x" } })).toEqual({ type: "string", pattern: "^[A-Z]{3}$" });
    expect(toJsonSchema({ type: "string", pattern: /^\d+$/ })).toEqual({ type: "string", pattern: "^\\d+$" });
    // A RegExp that crossed the transporter as JSON arrives as {}: better no pattern than a wrong one.
    expect(toJsonSchema({ type: "string", pattern: {} })).toEqual({ type: "string" });
    expect(toJsonSchema({ type: "string", enum: ["a", "b"], trim: true })).toEqual({ type: "string", enum: ["a", "b"] });
    expect(toJsonSchema({ type: "string", empty: false })).toEqual({ type: "string", minLength: 1 });
  });

  test("numbers, booleans, formats, enums, dates", () => {
    expect(toJsonSchema({ type: "number", integer: true, min: 0, max: 10, convert: true })).toEqual({ type: "integer", minimum: 0, maximum: 10 });
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
      items: { type: "object", strict: true, props: { productId: { type: "string", max: 64 }, quantity: { type: "number", integer: true, min: 1 }, note: { type: "string", optional: true } } },
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
    expect(toJsonSchema({ type: "object", strict: "remove", props: { a: "string" } })).toEqual({ type: "object", properties: { a: { type: "string" } }, required: ["a"] });
    expect(toJsonSchema({ type: "array", items: "string", unique: true, length: 2 })).toEqual({ type: "array", items: { type: "string" }, uniqueItems: true, minItems: 2, maxItems: 2 });
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

describe("aliases + actions → OpenAPI 3.1", () => {
  const actions: ActionInfo[] = [
    { name: "api.live", rawName: "live", access: "public" },
    {
      name: "things.list",
      rawName: "list",
      access: "public",
      params: { $$strict: true, page: { type: "number", integer: true, min: 1, convert: true, optional: true }, pageSize: { type: "number", optional: true }, q: "string|optional" },
    },
    { name: "things.get", rawName: "get", access: "public", params: { $$strict: true, id: { type: "string", max: 64 } } },
    { name: "things.create", rawName: "create", access: "admin", params: { $$strict: true, name: { type: "string", min: 1 }, tags: { type: "array", items: "string", optional: true } } },
    { name: "things.remove", rawName: "remove", access: "admin", params: { $$strict: true, id: "string" } },
    { name: "things.archive", rawName: "archive", access: "authenticated", params: { $$strict: true, id: "string" } },
    { name: "auth.token", rawName: "token", access: "public", clientAuthentication: true, params: { grant_type: { type: "string", optional: true } } },
    { name: "things.hinted", rawName: "hinted", access: "user", params: { x: "string" }, openapi: { summary: "Hinted", success: [202], not: [409], more: [429], headers: ["Idempotency-Key"] } },
    { name: "files.upload", rawName: "upload", access: "authenticated", params: { $filename: { type: "string", optional: true } } },
  ];
  const aliases: AliasInfo[] = [
    { method: "GET", fullPath: "/api/health/live", type: "call", action: "api.live" },
    { method: "GET", fullPath: "/api/things", type: "call", action: "things.list" },
    { method: "GET", fullPath: "/api/things/:id", type: "call", action: "things.get" },
    { method: "POST", fullPath: "/api/things", type: "call", action: "things.create" },
    { method: "DELETE", fullPath: "/api/things/:id", type: "call", action: "things.remove" },
    { method: "POST", fullPath: "/api/things/:id/archive", type: "call", action: "things.archive" },
    { method: "POST", fullPath: "/api/oauth/token", type: "call", action: "auth.token" },
    { method: "PUT", fullPath: "/api/hinted", type: "call", action: "things.hinted" },
    { method: "POST", fullPath: "/api/files", type: "multipart", action: "files.upload" },
    { method: "PUT", fullPath: "/api/files/raw/:token", type: "stream", action: "files.raw" },
    { method: "*", fullPath: "/api/any", type: "call", action: "things.hinted" },
  ];
  const doc = generateOpenApi(aliases, actions, { title: "T", version: "1.2.3" }) as any;
  const op = (method: string, path: string) => doc.paths[path]?.[method];
  const codes = (o: any) => Object.keys(o.responses).map(Number);

  test("is a valid OpenAPI 3.1 document", async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toEqual({ title: "T", version: "1.2.3" });
  });

  test("paths use {param}; every alias is one operation, '*' is every method", () => {
    expect(openApiPath("/api/orders/:id/cancel")).toEqual({ path: "/api/orders/{id}/cancel", names: ["id"] });
    expect(Object.keys(doc.paths).sort()).toEqual(
      ["/api/any", "/api/files", "/api/files/raw/{token}", "/api/health/live", "/api/hinted", "/api/oauth/token", "/api/things", "/api/things/{id}", "/api/things/{id}/archive"].sort(),
    );
    expect(Object.keys(doc.paths["/api/any"]).sort()).toEqual(["delete", "get", "patch", "post", "put"]);
    const ids = Object.values(doc.paths).flatMap((p: any) => Object.values(p).map((o: any) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(op("get", "/api/things").operationId).toBe("things.list");
  });

  test("GET params are query parameters, path params are in: path, the rest is a JSON body", () => {
    expect(op("get", "/api/things").parameters).toEqual([
      { name: "page", in: "query", required: false, schema: { type: "integer", minimum: 1 } },
      { name: "pageSize", in: "query", required: false, schema: { type: "number" } },
      { name: "q", in: "query", required: false, schema: { type: "string" } },
    ]);
    expect(op("get", "/api/things/{id}").parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string", maxLength: 64 } }]);
    expect(op("get", "/api/things/{id}").requestBody).toBeUndefined();
    expect(op("post", "/api/things").requestBody).toEqual({
      required: true,
      content: {
        "application/json": {
          schema: { type: "object", properties: { name: { type: "string", minLength: 1 } , tags: { type: "array", items: { type: "string" } } }, required: ["name"], additionalProperties: false },
        },
      },
    });
    // A path parameter is not also a body field; a body with nothing but the path param is no body.
    expect(op("post", "/api/things/{id}/archive").requestBody).toBeUndefined();
    expect(op("delete", "/api/things/{id}").parameters).toEqual([{ name: "id", in: "path", required: true, schema: { type: "string" } }]);
  });

  test("security from access: public → none; anything else → bearer, basic or OAuth 2.0 client credentials", () => {
    expect(op("get", "/api/things").security).toEqual([]);
    expect(op("post", "/api/things").security).toEqual([{ bearerAuth: [] }, { basicAuth: [] }, { oauth2: [] }]);
    expect(op("post", "/api/things").description).toMatch(/`admin` role/);
    expect(op("post", "/api/things/{id}/archive").description).toMatch(/signed-in principal/);
    expect(doc.components.securitySchemes.oauth2).toEqual(expect.objectContaining({ type: "oauth2", flows: { clientCredentials: { tokenUrl: "/api/oauth/token", scopes: {} } } }));
    expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: "http", scheme: "bearer", bearerFormat: "JWT" }));
    expect(doc.components.securitySchemes.basicAuth).toEqual(expect.objectContaining({ type: "http", scheme: "basic" }));
  });

  test("success: 201 for create, 204 for delete, the page shape for paginated lists, 200 otherwise", () => {
    expect(successStatuses("post", actions[3], {})).toEqual([201]);
    expect(codes(op("post", "/api/things"))).toContain(201);
    expect(op("delete", "/api/things/{id}").responses["204"]).toEqual({ description: "No content" });
    expect(op("get", "/api/things").responses["200"].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Page" });
    expect(doc.components.schemas.Page.required).toEqual(["rows", "total", "page", "pageSize", "totalPages"]);
    expect(op("get", "/api/things/{id}").responses["200"].content["application/json"].schema).toEqual({ type: "object" });
  });

  test("errors: only those that can apply, all referencing the one Error schema", () => {
    expect(codes(op("get", "/api/health/live"))).toEqual([200]);
    expect(codes(op("get", "/api/things"))).toEqual([200, 422]);
    expect(codes(op("get", "/api/things/{id}"))).toEqual([200, 404, 422]);
    expect(codes(op("post", "/api/things"))).toEqual([201, 400, 401, 403, 409, 413, 415, 422, 429]);
    expect(codes(op("delete", "/api/things/{id}"))).toEqual([204, 401, 403, 404, 409, 422, 429]);
    expect(op("post", "/api/things").responses["401"]).toEqual({ $ref: "#/components/responses/Unauthorized" });
    for (const name of ["BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "PayloadTooLarge", "UnsupportedMediaType", "ValidationFailed", "TooManyRequests"]) {
      expect(doc.components.responses[name].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    }
    expect(Object.keys(doc.components.schemas.Error.properties)).toEqual(["name", "message", "code", "type", "data"]);
    expect(doc.components.responses.Unauthorized.headers).toHaveProperty("WWW-Authenticate");
    expect(doc.components.responses.TooManyRequests.headers).toHaveProperty("Retry-After");
  });

  test("hints: success statuses, extra and impossible errors, request headers, summary", () => {
    const hinted = op("put", "/api/hinted");
    expect(hinted.summary).toBe("Hinted");
    expect(codes(hinted)).toEqual([202, 400, 401, 403, 413, 415, 422, 429]);
    expect(hinted.parameters).toEqual([expect.objectContaining({ name: "Idempotency-Key", in: "header", required: false })]);
    expect(humanize("twoFactorEnable")).toBe("Two factor enable");
    expect(op("get", "/api/things/{id}").summary).toBe("Get");
  });

  test("success bodies: the schema a hint names (a reference to components), or one given inline; error bodies of their own", () => {
    const typed: ActionInfo[] = [
      { name: "things.get", rawName: "get", access: "public", params: { id: "string" }, openapi: { response: "Product" } },
      { name: "things.list", rawName: "list", access: "public", params: { page: "number|optional", pageSize: "number|optional" }, openapi: { response: "ProductPage" } },
      { name: "things.login", rawName: "login", access: "public", params: { a: "string" }, openapi: { response: { oneOf: [{ $ref: "#/components/schemas/Tokens" }] } } },
      { name: "api.ready", rawName: "ready", access: "public", openapi: { more: [503], response: "Readiness", bodies: { 503: "Readiness" } } },
    ];
    const typedDoc = generateOpenApi(
      [
        { method: "GET", fullPath: "/api/things/:id", action: "things.get" },
        { method: "GET", fullPath: "/api/things", action: "things.list" },
        { method: "POST", fullPath: "/api/login", action: "things.login" },
        { method: "GET", fullPath: "/api/ready", action: "api.ready" },
      ],
      typed,
      { title: "T", version: "1" },
    ) as any;
    const json = (p: string, m: string, s: string) => typedDoc.paths[p][m].responses[s].content["application/json"].schema;
    expect(json("/api/things/{id}", "get", "200")).toEqual({ $ref: "#/components/schemas/Product" });
    expect(json("/api/things", "get", "200")).toEqual({ $ref: "#/components/schemas/ProductPage" });
    expect(json("/api/login", "post", "200")).toEqual({ oneOf: [{ $ref: "#/components/schemas/Tokens" }] });
    expect(json("/api/ready", "get", "503")).toEqual({ $ref: "#/components/schemas/Readiness" });
    expect(typedDoc.components.schemas.ProductPage.properties.rows).toEqual({ type: "array", items: { $ref: "#/components/schemas/Product" } });
    expect(typedDoc.components.schemas.Product.examples).toHaveLength(1);
    // Every $ref in the document points at something that is there.
    const refs = [...JSON.stringify(typedDoc).matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)];
    expect(refs.filter(([, kind, name]) => !typedDoc.components[kind!]?.[name!]).map(([ref]) => ref)).toEqual([]);
  });

  test("the OAuth token endpoint: JSON or form body, RFC 6749 errors, optional client Basic auth", () => {
    const token = op("post", "/api/oauth/token");
    expect(Object.keys(token.requestBody.content)).toEqual(["application/json", "application/x-www-form-urlencoded"]);
    expect(token.responses["400"]).toEqual({ $ref: "#/components/responses/OAuth400" });
    expect(token.responses["401"]).toEqual({ $ref: "#/components/responses/OAuth401" });
    expect(token.security).toEqual([{}, { clientBasic: [] }]);
    expect(doc.components.schemas.OAuthError.required).toEqual(["error"]);
  });

  test("uploads: multipart/form-data with a binary file part; raw streams as octet-stream", () => {
    const upload = op("post", "/api/files");
    expect(upload.requestBody.content["multipart/form-data"].schema.properties.file).toEqual(expect.objectContaining({ type: "string", format: "binary" }));
    expect(upload.parameters).toBeUndefined(); // $filename is moleculer-web's, not the client's
    expect(codes(upload)).toEqual([200, 400, 401, 403, 409, 413, 415, 422, 429]);
  });

  test("an alias whose action nobody runs right now: documented, answering 503", () => {
    const raw = op("put", "/api/files/raw/{token}");
    expect(raw.description).toMatch(/not available on this cluster right now/);
    expect(codes(raw)).toEqual([200, 404, 413, 415, 503]);
    expect(raw.security).toBeUndefined();
  });
});

describe("the Swagger UI page", () => {
  test("loads only local files, with the URLs it is given (escaped)", () => {
    const html = docsPage({ title: "A <b>", assetBase: "/api/docs/", specUrl: '/api/openapi.json?"x"' });
    expect(html).toContain('<link rel="stylesheet" href="/api/docs/swagger-ui.css">');
    expect(html).toContain('<script src="/api/docs/swagger-ui-bundle.js"');
    expect(html).toContain(`<script src="/api/docs/${INITIALIZER_FILE}"`);
    expect(html).toContain('data-spec-url="/api/openapi.json?&quot;x&quot;"');
    expect(html).toContain("<title>A &lt;b></title>");
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>/); // no inline script: works under script-src 'self'
  });

  test("serves the listed swagger-ui-dist files and nothing else", async () => {
    for (const name of Object.keys(SWAGGER_UI_FILES)) expect((await swaggerUiFile(name))?.body.length).toBeGreaterThan(100);
    const init = await swaggerUiFile(INITIALIZER_FILE);
    expect(init?.body.toString()).toMatch(/persistAuthorization: true/);
    expect(init?.body.toString()).toMatch(/validatorUrl: null/);
    for (const name of ["package.json", "../package.json", "index.html", "swagger-ui-bundle.js.map", "__proto__", "constructor", "hasOwnProperty"]) {
      expect(await swaggerUiFile(name)).toBeNull();
    }
  });
});
