/**
 * The typed contract: what a client team does with /api/openapi.json, checked against what the
 * API really answers. A node running every service (PostgreSQL) is toured route by route
 * (test/support/api-tour.ts); its document is turned into TypeScript types by openapi-typescript
 * (the generator's CLI, as a client runs it), and every JSON answer of the tour is compiled
 * (tsc, strict) as a value of the type its operation and status declare, as are the examples of
 * the document's schemas. A field missing from an answer, a field the schema does not list, a
 * wrong type or an undocumented status fails to compile. Two deliberately wrong answers must
 * fail to compile (@ts-expect-error), so the check cannot pass by being loose.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, http, type TestNode } from "../support/node.ts";
import { tourTheApi, type Capture } from "../support/api-tour.ts";
import { startOidcProvider, type TestOidcProvider } from "../support/oidc-provider.ts";
import type { Browser } from "../support/browser.ts";
import { freePort } from "../../scripts/support/free-port.ts";

const suite = await describeWithServers("postgres");
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = (pkg: string, file: string) => path.join(ROOT, "node_modules", pkg, file);

interface Operation {
  operationId: string;
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
type Doc = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { examples?: unknown[] }> } };

/** "post /api/products" → the operation; its success statuses and their media types. */
function successes(doc: Doc): Map<string, Map<number, string | null>> {
  const out = new Map<string, Map<number, string | null>>();
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const statuses = new Map<number, string | null>();
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) statuses.set(Number(status), response.content ? Object.keys(response.content)[0]! : null);
      }
      out.set(`${method} ${p}`, statuses);
    }
  }
  return out;
}

suite("the typed contract: openapi-typescript's types of /api/openapi.json against real answers", () => {
  let node: TestNode;
  let idp: TestOidcProvider;
  let doc: Doc;
  let captures: Capture[];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-contract-"));

  beforeAll(async () => {
    // An OpenID provider the tour signs in with (a new account at the shop).
    const port = await freePort();
    const callbackUrl = `http://127.0.0.1:${port}/api/auth/oidc/tour/callback`;
    idp = await startOidcProvider({ redirectUris: [callbackUrl] });
    idp.accounts.set("tour-person", { email: `tour-${port}@example.com`, email_verified: true, name: "Tour Person" });
    node = await startTestShop("contract", {
      CACHER: "memory",
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      OIDC_PROVIDERS: "tour",
      OIDC_TOUR_ISSUER: idp.issuer,
      OIDC_TOUR_CLIENT_ID: idp.clientId,
      OIDC_TOUR_CLIENT_SECRET: idp.clientSecret,
    });
    const oidc = {
      provider: "tour",
      async signIn(browser: Browser, providerPage: URL) {
        const { stoppedAt, page } = await browser.browse(providerPage, {
          stopAt: (url) => url.href.startsWith(callbackUrl),
          fill: (fields) => (fields.prompt === "login" ? { ...fields, login: "tour-person", password: "anything" } : fields),
        });
        if (!stoppedAt) throw new Error(`The OpenID sign-in stopped at ${page.url.href} (${page.status})`);
        return stoppedAt;
      },
    };
    captures = await tourTheApi(node.api, node.broker, { oidc });
    doc = (await http(`${node.api}/openapi.json`)).body;
  }, 60_000);

  afterAll(async () => {
    await node?.stop();
    await idp?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`every operation that answers JSON names a schema for it; \
the tour met every one of them, with a documented status and media type`, () => {
    const documented = successes(doc);
    const generic: string[] = [];
    for (const [operation, statuses] of documented) {
      const [method, p] = operation.split(" ") as [string, string];
      for (const [status, media] of statuses) {
        if (media !== "application/json") continue;
        const schema = doc.paths[p]![method]!.responses[String(status)]!.content![media]!.schema!;
        if (!schema.$ref && !schema.oneOf) generic.push(`${operation} ${status}: ${JSON.stringify(schema)}`);
        if (schema.$ref === "#/components/schemas/Page") generic.push(`${operation} ${status}: a page of untyped rows`);
      }
    }
    expect(generic).toEqual([]);

    const met = new Set(captures.map((c) => c.operation));
    const answersJson = [...documented].filter(([, statuses]) => [...statuses.values()].includes("application/json")).map(([op]) => op);
    expect(answersJson.filter((op) => !met.has(op))).toEqual([]);
    expect(answersJson.length).toBeGreaterThanOrEqual(40);

    const wrong = captures.flatMap((c) => {
      const statuses = documented.get(c.operation);
      if (!statuses?.has(c.status)) return [`${c.operation}: ${c.status} is not a documented success`];
      const media = statuses.get(c.status);
      const anyBytes = (media === "application/octet-stream" || media === "*/*") && c.contentType !== "application/json";
      return media === c.contentType || anyBytes ? [] : [`${c.operation} ${c.status}: answered ${c.contentType}, documented ${media}`];
    });
    expect(wrong).toEqual([]);

    // And the other way: each success status documented for an operation the tour took was answered.
    const NOT_MET: Record<string, string> = {
      "get /api/files/{id} 302": "a redirect to a presigned URL: S3 only (test/integration/storage.test.ts)",
    };
    const seen = new Map<string, Set<number>>();
    for (const c of captures) seen.set(c.operation, (seen.get(c.operation) ?? new Set()).add(c.status));
    const unanswered = [...seen].flatMap(([op, statuses]) =>
      [...documented.get(op)!.keys()].filter((s) => !statuses.has(s) && !NOT_MET[`${op} ${s}`]).map((s) => `${op} ${s}`),
    );
    expect(unanswered).toEqual([]);
  });

  test("every JSON answer of the tour, and every example, compiles as the type the document declares for it", () => {
    const docFile = path.join(dir, "openapi.json");
    fs.writeFileSync(docFile, JSON.stringify(doc));
    // As a client team runs it: npx openapi-typescript <document> -o <file>.
    const generated = path.join(dir, "shop-api.ts");
    const gen = spawnSync(process.execPath, [bin("openapi-typescript", "bin/cli.js"), docFile, "-o", generated], { encoding: "utf8" });
    expect({ status: gen.status, stderr: gen.status === 0 ? "" : gen.stderr }).toEqual({ status: 0, stderr: "" });

    const lines = [
      fs.readFileSync(generated, "utf8"),
      "",
      "// ---- the contract: answers and examples as values of their declared types ----",
      'type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;',
      "type Answer<P extends keyof paths, M extends keyof paths[P], S extends number> = " +
        "paths[P][M] extends { responses: infer R } ? (S extends keyof R ? Json<R[S]> : never) : never;",
    ];
    captures.forEach((c, i) => {
      if (c.contentType !== "application/json") return;
      const [method, p] = c.operation.split(" ");
      lines.push(
        `// ${c.operation} ${c.status}`,
        `export const answer${i}: Answer<${JSON.stringify(p)}, ${JSON.stringify(method)}, ${c.status}> = ${JSON.stringify(c.body)};`,
      );
    });
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      (schema.examples ?? []).forEach((example, i) =>
        lines.push(
          `// example of ${name}`,
          `export const example_${name}_${i}: components["schemas"][${JSON.stringify(name)}] = ${JSON.stringify(example)};`,
        ),
      );
    }
    // The check must be able to fail: a wrong type and an undocumented field are refused.
    const product = captures.find((c) => c.operation === "get /api/products/{id}")!.body as Record<string, unknown>;
    const me = captures.find((c) => c.operation === "get /api/users/me")!.body as Record<string, unknown>;
    lines.push(
      "// @ts-expect-error a price is an integer number of cents, not text",
      `export const wrongType: Answer<"/api/products/{id}", "get", 200> = ${JSON.stringify({ ...product, priceCents: "14.90" })};`,
      "// @ts-expect-error a field the schema does not list (a secret) is refused",
      `export const undocumented: Answer<"/api/users/me", "get", 200> = ${JSON.stringify({ ...me, passwordHash: "$argon2id$..." })};`,
    );
    fs.writeFileSync(path.join(dir, "contract.ts"), lines.join("\n") + "\n");
    fs.writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "es2022",
          module: "esnext",
          moduleResolution: "bundler",
          types: [],
          skipLibCheck: true,
        },
        files: ["contract.ts"],
      }),
    );
    const tsc = spawnSync(process.execPath, [bin("typescript", "bin/tsc"), "-p", dir], { encoding: "utf8" });
    const source = fs.readFileSync(path.join(dir, "contract.ts"), "utf8").split("\n");
    // Each error with the operation it is about (the comment line above the value).
    const errors = [...(tsc.stdout + tsc.stderr).matchAll(/contract\.ts\((\d+),\d+\): (error TS\d+: .*)/g)].map(
      ([, line, message]) => `${source[Number(line) - 2]} → ${message}`,
    );
    expect(errors).toEqual([]);
    expect(tsc.status).toBe(0);
    expect(captures.filter((c) => c.contentType === "application/json").length).toBeGreaterThan(50);
  });
});
