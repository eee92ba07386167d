/** The Swagger UI page the gateway serves at /api/docs. */
import { docsPage, swaggerUiFile, INITIALIZER_FILE, SWAGGER_UI_FILES } from "../../../../mixins/openapi/ui.ts";

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
    for (const name of [
      "package.json",
      "../package.json",
      "index.html",
      "swagger-ui-bundle.js.map",
      "__proto__",
      "constructor",
      "hasOwnProperty",
    ]) {
      expect(await swaggerUiFile(name)).toBeNull();
    }
  });
});
