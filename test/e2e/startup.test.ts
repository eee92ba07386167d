/**
 * What a person meets on day one, run as they run it: the npm scripts read a .env in the
 * working folder (a real environment variable wins over it), `.env.example` copied to .env is
 * a valid configuration, migrations print each step as it runs and a failing one is one line,
 * every bad variable is reported at once, and the embedded default without the optional sqlite3
 * driver says so in one sentence. Real processes, `npm run ...` in a folder of their own that
 * mirrors the project (symbolic links), embedded SQLite: no server needed.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };

/** Every variable the shop reads (the keys of .env.example): none may leak in from the test's own environment. */
const SHOP_VARS = [...fs.readFileSync(path.join(ROOT, ".env.example"), "utf8").matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !SHOP_VARS.includes(k)));

/** A folder that looks like a checkout of the project (its files linked), without .env or data. */
function projectCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-day-one-"));
  for (const entry of fs.readdirSync(ROOT)) {
    if ([".env", "data", ".git"].includes(entry)) continue;
    fs.symlinkSync(path.join(ROOT, entry), path.join(dir, entry));
  }
  return dir;
}

function npmRun(cwd: string, script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync("npm", ["run", "--silent", script, ...(args.length ? ["--", ...args] : [])], {
    cwd,
    env: { ...cleanEnv(), ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  // Node's own notice when there is no .env (--env-file-if-exists) is not the scripts' output.
  return { code: result.status, out: result.stdout, err: result.stderr.replace(/^\.env not found\. Continuing without it\.\n/, "") };
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});
function freshProject(): string {
  const dir = projectCopy();
  dirs.push(dir);
  return dir;
}

describe(".env", () => {
  test("every script that starts or prepares the shop reads .env when there is one", () => {
    for (const script of ["start", "dev", "repl", "migrate", "createsuperuser", "cluster", "seed"]) {
      expect(`${script}: ${pkg.scripts[script]}`).toMatch(new RegExp(`^${script}: node --env-file-if-exists=\\.env `));
    }
    // Tests never read a developer's .env.
    expect(pkg.scripts.test).not.toContain("env-file");
  });

  test("npm run migrate reads .env from the working folder; a real environment variable wins; no .env is fine", () => {
    const cwd = freshProject();
    fs.writeFileSync(path.join(cwd, ".env"), "# local settings\nSQLITE_PATH=data/from-dotenv.sqlite\nLOG_LEVEL=warn\n");
    const fromFile = npmRun(cwd, "migrate");
    expect(fromFile).toMatchObject({ code: 0, err: "" });
    expect(fromFile.out).toContain(
      `Applied ${fs.readdirSync(path.join(ROOT, "migrations")).length} migration(s) to data/from-dotenv.sqlite.`,
    );
    expect(fs.existsSync(path.join(cwd, "data/from-dotenv.sqlite"))).toBe(true);

    const real = npmRun(cwd, "migrate", ["status"], { SQLITE_PATH: "data/from-environment.sqlite" });
    expect(real).toMatchObject({ code: 0 });
    expect(real.out).toMatch(/^data\/from-environment\.sqlite\n/);
    expect(real.out).not.toContain("from-dotenv");

    fs.rmSync(path.join(cwd, ".env"));
    const none = npmRun(cwd, "migrate", ["status"]);
    expect(none).toMatchObject({ code: 0 });
    expect(none.out).toMatch(/^data\/shop\.sqlite\n/);
  });

  test("npm start reads .env: every bad value in it is reported at once, and the environment's value is the one judged", () => {
    const cwd = freshProject();
    fs.writeFileSync(path.join(cwd, ".env"), 'PORT=not-a-port\nLOG_LEVEL=loud\nCACHER="memcached://cache"\n');
    const started = npmRun(cwd, "start", [], { PORT: "70000" });
    expect(started.code).toBe(1);
    expect(started.err.trim().split("\n")).toEqual([
      'Configuration error: CACHER must use redis:// or rediss:// (got "memcached://cache")',
      'Configuration error: PORT must be an integer from 0 to 65535 (got "70000")',
      'Configuration error: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace (got "loud")',
    ]);
  });

  test(".env.example, copied to .env, is a valid configuration as Node reads it", () => {
    const check = spawnSync(
      process.execPath,
      [
        "--env-file=.env.example",
        "--input-type=module",
        "-e",
        'const { loadConfig } = await import("./lib/config.ts"); const c = loadConfig(); ' +
          "console.log(JSON.stringify({ services: c.services, db: c.database.dialect, storage: c.storage.driver }));",
      ],
      { cwd: ROOT, env: cleanEnv(), encoding: "utf8" },
    );
    expect(check.stderr).toBe("");
    expect(JSON.parse(check.stdout)).toEqual({
      services: ["api", "users", "products", "orders", "mail", "storage"],
      db: "sqlite",
      storage: "local",
    });
  });
});

describe("migrations and start-up failures", () => {
  test("npm run migrate shows each migration as it runs; a failing one is one line naming it, and exit code 1", () => {
    const cwd = freshProject();
    const names = fs
      .readdirSync(path.join(ROOT, "migrations"))
      .map((f) => f.replace(/\.ts$/, ""))
      .sort();
    const ok = npmRun(cwd, "migrate", [], { SQLITE_PATH: "data/a.sqlite" });
    expect(ok.code).toBe(0);
    expect(ok.out.trim().split("\n")).toEqual([
      "Migrating data/a.sqlite",
      ...names.map((n) => expect.stringMatching(new RegExp(`^  ${n} \\.\\.\\. \\d+ ms$`))),
      `Applied ${names.length} migration(s) to data/a.sqlite.`,
    ]);

    // An index of the same name already in the file: the first migration cannot create its own.
    const sqlite = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'import { createRequire } from "node:module"; const sqlite3 = createRequire(process.cwd() + "/")("sqlite3"); ' +
          'const db = new sqlite3.Database("data/b.sqlite"); ' +
          'db.exec("CREATE TABLE t (a INTEGER); CREATE INDEX products_created_at ON t (a);", (e) => { if (e) throw e; db.close(); });',
      ],
      { cwd, encoding: "utf8" },
    );
    expect(sqlite.stderr).toBe("");
    const failed = npmRun(cwd, "migrate", [], { SQLITE_PATH: "data/b.sqlite" });
    expect(failed.code).toBe(1);
    expect(failed.out).toBe(`Migrating data/b.sqlite\n  ${names[0]} ... failed\n`);
    expect(failed.err).toMatch(new RegExp(`^Migration ${names[0]} failed: SQLITE_ERROR: index products_created_at already exists\\n$`));
  });

  test("without the optional sqlite3 package, the embedded default says what to do in one line", () => {
    const cwd = freshProject();
    // A resolve hook hides the installed driver, as an install without optional dependencies would.
    fs.writeFileSync(
      path.join(cwd, "no-sqlite3.mjs"),
      [
        // NODE_OPTIONS reaches npm too, which may run on an older Node without registerHooks.
        'import * as mod from "node:module";',
        "mod.registerHooks?.({",
        "  resolve(specifier, context, next) {",
        '    if (specifier === "sqlite3") throw Object.assign(new Error("Cannot find module \'sqlite3\'"), { code: "MODULE_NOT_FOUND" });',
        "    return next(specifier, context);",
        "  },",
        "});",
      ].join("\n"),
    );
    const hidden = { NODE_OPTIONS: `--import=${path.join(cwd, "no-sqlite3.mjs")}`, SQLITE_PATH: "data/d.sqlite", METRICS: "false" };
    const message =
      "The embedded SQLite database (no DATABASE_URL) needs the optional package sqlite3, which is not installed: " +
      "install it with `npm install sqlite3` (it may build from source: python3, make, g++), " +
      "or set DATABASE_URL to a PostgreSQL database.\n";
    for (const script of ["start", "migrate"]) {
      const run = npmRun(cwd, script, [], hidden);
      expect({ script, code: run.code, err: run.err }).toEqual({ script, code: 1, err: message });
    }
    expect(fs.existsSync(path.join(cwd, "data/d.sqlite"))).toBe(false);
  });
});
