/**
 * What each role loads before it does anything: for the base (lib/config.ts, moleculer.config.ts,
 * broker.ts: what every node imports) and for each service's schema on top of it, in a
 * fresh process each, started as a node is (the compile cache on and filled first: cut 24): the
 * time the imports took, the RSS and heap after them (after the GC a started node runs: cut 25), and
 * the packages whose CommonJS files were loaded, ranked by how many. ESM-only packages are not
 * in that list (Node keeps no such registry for them); most of the heavy ones here are CommonJS.
 *
 *   node bench/role-imports.ts [role...]     roles: base, api, users, products, orders, mail, storage, all
 *   node bench/role-imports.ts --packages    what each heavy package adds alone (RSS, heap, import time)
 *
 * A node's idle RSS (bench/checkout.ts, bench/anchors.ts) is this plus its broker, connections
 * and caches. No server is needed: nothing connects.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { formatTable } from "./table.ts";
import { COMPILE_CACHE_PRELOAD } from "../scripts/support/cluster.ts";
import { fillCompileCache } from "../scripts/warm-compile-cache.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROLES = ["base", "api", "users", "products", "orders", "mail", "storage", "all"];

interface Loaded {
  role: string;
  importMs: number;
  rssMB: number;
  heapMB: number;
  files: number;
  packages: [string, number][];
}

/** The script a fresh process runs for one role (an ES module, given with --input-type=module). */
function probeScript(role: string): string {
  const url = (p: string) => JSON.stringify(pathToFileURL(path.join(ROOT, p)).href);
  const services = role === "all" ? ["api", "users", "products", "orders", "mail", "storage"] : role === "base" ? [] : [role];
  return `
    import { createRequire } from "node:module";
    const start = performance.now();
    const { getConfig } = await import(${url("lib/config.ts")});
    const cfg = getConfig();
    const { brokerOptions } = await import(${url("moleculer.config.ts")});
    brokerOptions(cfg);
    const { loadServiceSchema } = await import(${url("broker.ts")});
    for (const name of ${JSON.stringify(services)}) await loadServiceSchema(name);
    const importMs = performance.now() - start;
    const { releaseStartupMemory } = await import(${url("lib/startup-memory.ts")});
    releaseStartupMemory();
    const mem = process.memoryUsage();
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const counts = {};
    for (const file of cache) {
      const i = file.lastIndexOf("/node_modules/");
      if (i === -1) continue;
      const parts = file.slice(i + 14).split("/");
      const pkg = parts[0].startsWith("@") ? parts[0] + "/" + parts[1] : parts[0];
      counts[pkg] = (counts[pkg] ?? 0) + 1;
    }
    const packages = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    console.log(JSON.stringify({ importMs, rssMB: mem.rss / 1e6, heapMB: mem.heapUsed / 1e6, files: cache.length, packages }));
  `;
}

export function loadRole(role: string): Loaded {
  // A clean environment: the embedded defaults, with a data folder that is never written
  // (nothing connects or starts), and no SERVICES from the caller's shell.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LOG_LEVEL: "warn",
    JWT_SECRET: "x".repeat(48),
    SECRETS_KEY: "y".repeat(48),
  };
  const out = execFileSync(process.execPath, ["--import", COMPILE_CACHE_PRELOAD, "--input-type=module", "-e", probeScript(role)], {
    cwd: ROOT,
    env,
    encoding: "utf8",
  });
  const line = out.trim().split("\n").pop()!;
  return { role, ...(JSON.parse(line) as Omit<Loaded, "role">) };
}

/** The packages the services import that weigh the most, for --packages. */
const PACKAGES = [
  "moleculer",
  "moleculer-web",
  "moleculer-db",
  "moleculer-db-adapter-sequelize",
  "sequelize",
  "pg",
  "amqplib",
  "ioredis",
  "@aws-sdk/client-s3",
  "@aws-sdk/lib-storage",
  "@aws-sdk/s3-request-presigner",
  "nodemailer",
  "@node-rs/argon2",
  "jsonwebtoken",
  "rate-limiter-flexible",
  "validator",
  "qrcode",
  "speakeasy",
  "pngjs",
  "pino",
  "umzug",
  "swagger-ui-dist",
];

/** RSS and heap one package adds to a process that has already loaded Node's TypeScript stripper, and the import's time. */
export function loadPackage(name: string): { name: string; importMs: number; rssMB: number; heapMB: number } {
  const script = `
    await import(${JSON.stringify(pathToFileURL(path.join(ROOT, "lib/every.ts")).href)}); // loads the type stripper
    globalThis.gc(); const before = process.memoryUsage();
    const start = performance.now();
    await import(${JSON.stringify(name)});
    const importMs = performance.now() - start;
    globalThis.gc(); const after = process.memoryUsage();
    console.log(JSON.stringify({ importMs, rssMB: (after.rss - before.rss) / 1e6, heapMB: (after.heapUsed - before.heapUsed) / 1e6 }));
  `;
  const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
  return { name, ...(JSON.parse(out.trim().split("\n").pop()!) as { importMs: number; rssMB: number; heapMB: number }) };
}

/** Node itself, and Node with its TypeScript stripper loaded (every node runs .ts files). */
function baseline(): { plainMB: number; strippedMB: number } {
  const rss = (script: string) =>
    Number(
      execFileSync(
        process.execPath,
        ["--expose-gc", "--input-type=module", "-e", `${script} globalThis.gc(); console.log(process.memoryUsage().rss / 1e6)`],
        { cwd: ROOT, encoding: "utf8" },
      ).trim(),
    );
  return { plainMB: rss(""), strippedMB: rss(`await import(${JSON.stringify(pathToFileURL(path.join(ROOT, "lib/every.ts")).href)});`) };
}

function main() {
  if (process.argv.includes("--packages")) {
    const base = baseline();
    console.log(
      `Node alone: ${base.plainMB.toFixed(0)} MB RSS; ` +
        `with its TypeScript stripper loaded (the first .ts import): ${base.strippedMB.toFixed(0)} MB.\n`,
    );
    const rows = PACKAGES.map(loadPackage).sort((a, b) => b.rssMB - a.rssMB);
    console.log(
      formatTable(
        ["package (alone, after the stripper)", "import ms", "RSS MB added", "heap MB added"],
        rows.map((r) => [r.name, r.importMs.toFixed(0), r.rssMB.toFixed(1), r.heapMB.toFixed(1)]),
      ),
    );
    return;
  }
  const roles = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const unknown = roles.filter((r) => !ROLES.includes(r));
  if (unknown.length) {
    console.error(`Unknown role ${unknown.join(", ")}; choose from ${ROLES.join(", ")}.`);
    process.exit(2);
  }
  fillCompileCache();
  const results = (roles.length ? roles : ROLES).map(loadRole);
  console.log(
    formatTable(
      ["role", "import ms", "RSS MB", "heap MB", "CJS files", "packages with the most files loaded"],
      results.map((r) => [
        r.role,
        r.importMs.toFixed(0),
        r.rssMB.toFixed(0),
        r.heapMB.toFixed(0),
        String(r.files),
        r.packages
          .slice(0, 8)
          .map(([p, n]) => `${p} ${n}`)
          .join(", "),
      ]),
    ),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
