/**
 * The OpenAPI generator on its own: aliases + action definitions → operations (parameters,
 * bodies, security, responses); the rules → JSON Schema part in schema.test.ts.
 * The document of the real gateway is checked in test/integration/openapi.test.ts.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import {
  generateOpenApi,
  openApiPath,
  humanize,
  successStatuses,
  type ActionInfo,
  type AliasInfo,
} from "../../../../mixins/openapi/generate.ts";

describe("aliases + actions → OpenAPI 3.1", () => {
  const actions: ActionInfo[] = [
    { name: "api.live", rawName: "live", access: "public" },
    {
      name: "things.list",
      rawName: "list",
      access: "public",
      params: {
        $$strict: true,
        page: { type: "number", integer: true, min: 1, convert: true, optional: true },
        pageSize: { type: "number", optional: true },
        q: "string|optional",
      },
    },
    { name: "things.get", rawName: "get", access: "public", params: { $$strict: true, id: { type: "string", max: 64 } } },
    {
      name: "things.create",
      rawName: "create",
      access: "admin",
      params: { $$strict: true, name: { type: "string", min: 1 }, tags: { type: "array", items: "string", optional: true } },
    },
    { name: "things.remove", rawName: "remove", access: "admin", params: { $$strict: true, id: "string" } },
    { name: "things.archive", rawName: "archive", access: "authenticated", params: { $$strict: true, id: "string" } },
    {
      name: "auth.token",
      rawName: "token",
      access: "public",
      clientAuthentication: true,
      params: { grant_type: { type: "string", optional: true } },
    },
    {
      name: "things.hinted",
      rawName: "hinted",
      access: "user",
      params: { x: "string" },
      openapi: { summary: "Hinted", success: [202], not: [409], more: [429], headers: ["Idempotency-Key"] },
    },
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
      [
        "/api/any",
        "/api/files",
        "/api/files/raw/{token}",
        "/api/health/live",
        "/api/hinted",
        "/api/oauth/token",
        "/api/things",
        "/api/things/{id}",
        "/api/things/{id}/archive",
      ].sort(),
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
    expect(op("get", "/api/things/{id}").parameters).toEqual([
      { name: "id", in: "path", required: true, schema: { type: "string", maxLength: 64 } },
    ]);
    expect(op("get", "/api/things/{id}").requestBody).toBeUndefined();
    expect(op("post", "/api/things").requestBody).toEqual({
      required: true,
      content: {
        "application/json": {
          schema: {
            type: "object",
            properties: { name: { type: "string", minLength: 1 }, tags: { type: "array", items: { type: "string" } } },
            required: ["name"],
            additionalProperties: false,
          },
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
    expect(doc.components.securitySchemes.oauth2).toEqual(
      expect.objectContaining({ type: "oauth2", flows: { clientCredentials: { tokenUrl: "/api/oauth/token", scopes: {} } } }),
    );
    expect(doc.components.securitySchemes.bearerAuth).toEqual(
      expect.objectContaining({ type: "http", scheme: "bearer", bearerFormat: "JWT" }),
    );
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
    for (const name of [
      "BadRequest",
      "Unauthorized",
      "Forbidden",
      "NotFound",
      "Conflict",
      "PayloadTooLarge",
      "UnsupportedMediaType",
      "ValidationFailed",
      "TooManyRequests",
    ]) {
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
      {
        name: "things.list",
        rawName: "list",
        access: "public",
        params: { page: "number|optional", pageSize: "number|optional" },
        openapi: { response: "ProductPage" },
      },
      {
        name: "things.login",
        rawName: "login",
        access: "public",
        params: { a: "string" },
        openapi: { response: { oneOf: [{ $ref: "#/components/schemas/Tokens" }] } },
      },
      {
        name: "api.ready",
        rawName: "ready",
        access: "public",
        openapi: { more: [503], response: "Readiness", bodies: { 503: "Readiness" } },
      },
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
    expect(typedDoc.components.schemas.ProductPage.properties.rows).toEqual({
      type: "array",
      items: { $ref: "#/components/schemas/Product" },
    });
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
    expect(upload.requestBody.content["multipart/form-data"].schema.properties.file).toEqual(
      expect.objectContaining({ type: "string", format: "binary" }),
    );
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
