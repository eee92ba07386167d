/**
 * Swagger UI, served by the gateway itself from the installed swagger-ui-dist package: no CDN,
 * works offline. The page and its initializer are ours (the package's own index points at the
 * petstore); the script runs from a file, so the page works under a strict Content-Security-Policy.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

/** The files of swagger-ui-dist the page loads, and their media types. Nothing else is served. */
export const SWAGGER_UI_FILES: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

/** Our own initializer, served next to them. */
export const INITIALIZER_FILE = "swagger-initializer.js";

/**
 * Reads the page's settings from its own markup (the URLs are the gateway's aliases).
 * `persistAuthorization` keeps the credentials across reloads; the online validator badge is
 * off (it would call out to the internet); "Try it out" talks to this gateway, with only the
 * credentials entered under "Authorize".
 */
export const INITIALIZER_SOURCE = `"use strict";
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    filter: true,
    tryItOutEnabled: false,
    validatorUrl: null,
    // The API uses no cookies. Without credentials the browser also never answers a 401's
    // "WWW-Authenticate: Basic" with its own login dialog (or with Basic credentials it cached).
    requestInterceptor: function (request) {
      request.credentials = "omit";
      return request;
    },
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
`;

/** Loose enough for Swagger UI (inline styles, data: icons), tight enough that nothing leaves this origin. */
export const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const escapeAttr = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/** The HTML page. `assetBase` is where the files above are served ("/api/docs"), `specUrl` the document ("/api/openapi.json"). */
export function docsPage(opts: { title: string; assetBase: string; specUrl: string }): string {
  const a = escapeAttr(opts.assetBase.replace(/\/$/, ""));
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${escapeAttr(opts.title)}</title>
    <link rel="stylesheet" href="${a}/swagger-ui.css">
    <link rel="icon" type="image/png" href="${a}/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="${a}/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui" data-spec-url="${escapeAttr(opts.specUrl)}"></div>
    <script src="${a}/swagger-ui-bundle.js" charset="utf-8"></script>
    <script src="${a}/${INITIALIZER_FILE}" charset="utf-8"></script>
  </body>
</html>
`;
}

const require = createRequire(import.meta.url);
let distDir: string | undefined;
const cache = new Map<string, Buffer>();

/** A file of swagger-ui-dist (read once, then kept), or null for anything not in the list. */
export async function swaggerUiFile(name: string): Promise<{ body: Buffer; type: string } | null> {
  if (name === INITIALIZER_FILE) return { body: Buffer.from(INITIALIZER_SOURCE), type: "text/javascript; charset=utf-8" };
  const type = Object.hasOwn(SWAGGER_UI_FILES, name) ? SWAGGER_UI_FILES[name] : undefined;
  if (!type) return null;
  distDir ??= path.dirname(require.resolve("swagger-ui-dist/package.json"));
  let body = cache.get(name);
  if (!body) {
    body = await readFile(path.join(distDir, name));
    cache.set(name, body);
  }
  return { body, type };
}
