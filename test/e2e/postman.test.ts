/**
 * The Postman collection (docs/postman), as `npm run test:postman` runs it: newman against
 * a fresh cluster of real processes over RabbitMQ and PostgreSQL (scripts/postman.ts does
 * the work; this only judges the result), and every route group (OpenAPI tag) of that
 * cluster's /api/openapi.json has a request in the collection. Also a few checks of the
 * collection's own shape that need no server: every request asserts something, every
 * variable is defined, every file it uploads is there.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describeWithServers } from "../support/servers.ts";
import { runPostmanAgainstFreshCluster, routeGroupCoverage, COLLECTION, ENVIRONMENT, WORKING_DIR } from "../../scripts/postman.ts";

interface Item {
  name: string;
  item?: Item[];
  request?: {
    method: string;
    url: { raw: string };
    body?: { mode: string; formdata?: { type?: string; src?: string | string[] }[]; file?: { src?: string } };
  };
  event?: { listen: string; script: { exec: string[] } }[];
}
const collection = JSON.parse(readFileSync(COLLECTION, "utf8")) as Item & {
  variable: { key: string; value: string }[];
  event: Item["event"];
  info: { schema: string };
};
const environment = JSON.parse(readFileSync(ENVIRONMENT, "utf8")) as { values: { key: string }[] };
const requests = (items: Item[], trail: string[] = []): { path: string; item: Item }[] =>
  items.flatMap((i) => (i.item ? requests(i.item, [...trail, i.name]) : [{ path: [...trail, i.name].join(" › "), item: i }]));

describe("the Postman collection's shape", () => {
  const all = requests(collection.item ?? []);

  test("is a v2.1 collection whose every request has pm.test assertions", () => {
    expect(collection.info.schema).toBe("https://schema.getpostman.com/json/collection/v2.1.0/collection.json");
    expect(all.length).toBeGreaterThan(25);
    const untested = all.filter(
      ({ item }) => !item.event?.some((e) => e.listen === "test" && e.script.exec.join("\n").includes("pm.test(")),
    );
    expect(untested.map((r) => r.path)).toEqual([]);
  });

  test("every {{variable}} is a collection or environment variable (or a Postman dynamic one)", () => {
    const defined = new Set([...collection.variable.map((v) => v.key), ...environment.values.map((v) => v.key)]);
    const used = new Set([...JSON.stringify(collection).matchAll(/\{\{([^{}]+)\}\}/g)].map((m) => m[1]!).filter((v) => !v.startsWith("$")));
    expect([...used].filter((v) => !defined.has(v))).toEqual([]);
    expect(environment.values.map((v) => v.key).sort()).toEqual(["adminEmail", "adminPassword", "baseUrl"]);
  });

  test(`every file it uploads is in docs/postman (relative to newman's working directory), \
and the fixture variables describe mug.png`, () => {
    const sources = all.flatMap(({ path: where, item }) => {
      const body = item.request!.body;
      const srcs = [
        ...(body?.formdata ?? []).filter((p) => p.type === "file").flatMap((p) => p.src ?? []),
        ...(body?.mode === "file" && body.file?.src ? [body.file.src] : []),
      ];
      return srcs.map((src) => ({ where, src }));
    });
    expect(sources.length).toBeGreaterThan(0);
    for (const { where, src } of sources) {
      // Relative, inside the working directory: newman (insecureFileRead off) and the Postman app both refuse anything else.
      const file = path.resolve(WORKING_DIR, src);
      expect(
        `${where}: ${src} ` +
          (!path.isAbsolute(src) && file.startsWith(WORKING_DIR + path.sep) && existsSync(file)
            ? "found"
            : "missing or outside docs/postman"),
      ).toBe(`${where}: ${src} found`);
    }
    const png = readFileSync(path.join(WORKING_DIR, "fixtures/mug.png"));
    const vars = Object.fromEntries(collection.variable.map((v) => [v.key, v.value]));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect({ size: vars.fixtureSize, sha256: vars.fixtureSha256 }).toEqual({
      size: String(png.length),
      sha256: createHash("sha256").update(png).digest("hex"),
    });
  });

  test("covers the flow: register → 2FA → admin → idempotent checkout → lifecycle → cancel → OAuth client → files → mail → logout", () => {
    const routes = all.map(({ item }) => `${item.request!.method} ${item.request!.url.raw.replace("{{baseUrl}}", "").split("?")[0]}`);
    const order = [
      "POST /auth/register",
      "POST /auth/login",
      "GET /users/me",
      "POST /auth/2fa/setup",
      "POST /auth/2fa/enable",
      "POST /auth/login/totp",
      "POST /auth/2fa/sms/enrol",
      "POST /auth/2fa/sms/confirm",
      "GET /auth/oidc",
      "POST /products",
      "POST /orders",
      "PATCH /orders/{{orderId}}/status",
      "POST /orders/{{secondOrderId}}/cancel",
      "POST /clients",
      "POST /auth/token",
      "POST /files",
      "GET /files/{{fileId}}",
      "POST /files/presign",
      "PUT {{uploadUrl}}",
      "POST /files/{{presignedFileId}}/complete",
      "DELETE /files/{{fileId}}",
      "GET /mail/failed",
      "POST /auth/logout",
    ];
    let at = -1;
    for (const route of order) {
      const next = routes.indexOf(route, at + 1);
      expect(`${route} ${next > at ? "in order" : "missing or out of order"}`).toBe(`${route} in order`);
      at = next;
    }
  });
});

const suite = await describeWithServers("postgres", "rabbitmq");

suite("npm run test:postman: the collection against a fresh cluster", () => {
  test("every request and every assertion passes", async () => {
    const result = await runPostmanAgainstFreshCluster({ reporters: [] });
    if (result.failures.length) {
      for (const [id, output] of Object.entries(result.nodeOutput)) if (output.trim()) console.log(`--- ${id}\n${output.slice(-4000)}`);
    }
    expect(result.failures).toEqual([]);
    expect(result.requests).toEqual({ total: requests(collection.item ?? []).length, failed: 0 });
    expect(result.assertions.failed).toBe(0);
    expect(result.assertions.total).toBeGreaterThanOrEqual(result.requests.total);

    // Every route group of the running cluster's OpenAPI document (a tag per service, "api" for
    // the gateway's own routes) has at least one request; every request to {{baseUrl}} is a route
    // of the document. Group level: new routes in a covered group need no new request.
    const coverage = routeGroupCoverage(collection.item ?? [], result.openapi, result.basePath);
    expect(Object.keys(coverage.byTag).length).toBeGreaterThanOrEqual(6);
    expect(coverage.uncovered).toEqual([]);
    expect(coverage.unmatched).toEqual([]);
  }, 180_000);
});
