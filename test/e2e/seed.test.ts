/**
 * `npm run seed` as a person runs it, on both databases: an empty shop gets the demo catalogue
 * (≥ 50 products in several categories, each with a picture stored through the storage service
 * and served publicly), a demo admin and shopper whose printed credentials sign in, and orders
 * in every state; progress is shown; a second run changes nothing at all (every SQLite and
 * PostgreSQL row); a database with data the demo did not make is refused, unless
 * --force. The embedded shop is then started and asked over HTTP, as the README's quick start does.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { SERVER_ENTRY, exited } from "../../scripts/support/cluster.ts";
import { freePort } from "../../scripts/support/free-port.ts";
import { http, waitUntilReady } from "../support/node.ts";
import { shopClient, as } from "../support/shop-client.ts";
import { describeWithServers } from "../support/servers.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

const ROOT = path.dirname(SERVER_ENTRY);
const SEED = path.join(ROOT, "scripts/seed.ts");
const SHOP_VARS = [...fs.readFileSync(path.join(ROOT, ".env.example"), "utf8").matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
const baseEnv = () => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !SHOP_VARS.includes(k))),
  NODE_ENV: "test",
  LOG_LEVEL: "warn",
});

function seed(cwd: string, env: Record<string, string>, args: string[] = []) {
  const run = spawnSync(process.execPath, [SEED, ...args], { cwd, env: { ...baseEnv(), ...env }, encoding: "utf8", timeout: 240_000 });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

/** The e-mail → password lines the seed prints. */
function credentials(out: string): Record<string, string> {
  return Object.fromEntries([...out.matchAll(/^ {2}(?:admin|shopper) +(\S+@\S+) +(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

function expectDemoOutput(out: string) {
  expect(out).toMatch(/^Products: 10\/60$/m); // progress
  expect(out).toMatch(/^Products: 60\/60$/m);
  expect(Object.keys(credentials(out)).sort()).toEqual(["demo.admin@example.com", "demo.shopper@example.com"]);
}

/**
 * Every table's schema and rows, as a hash. Not the file's bytes: in WAL mode they change
 * whenever SQLite checkpoints (the first process to close the file after a shop that stopped
 * without closing it moves the log into the file), with nothing in the database changed.
 */
function contents(file: string): string {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const tables = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
      sql: string;
    }[];
    const hash = createHash("sha256");
    for (const t of tables) hash.update(JSON.stringify([t.sql, db.prepare(`SELECT * FROM "${t.name}" ORDER BY 1`).all()]));
    return hash.digest("hex");
  } finally {
    db.close();
  }
}
const listing = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).sort() : []);

describe("npm run seed on the embedded SQLite database", () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "shop-seed-"));
  const env = {
    SQLITE_PATH: path.join(cwd, "data/shop.sqlite"),
    STORAGE_DIR: path.join(cwd, "data/files"),
    MAIL_OUTBOX_DIR: path.join(cwd, "data/outbox"),
  };
  let first: ReturnType<typeof seed>;

  beforeAll(() => {
    first = seed(cwd, env);
  }, 240_000);
  afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

  test("fills the empty shop, shows its progress and prints the demo accounts", () => {
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expectDemoOutput(first.out);
    expect(first.out).toMatch(/^Added 2 account\(s\), 60 product\(s\), 60 picture\(s\), 12 order change\(s\)\.$/m);
  });

  test("the started shop shows the catalogue, serves its pictures to anyone, and the printed credentials sign in", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [SERVER_ENTRY], {
      cwd,
      env: { ...baseEnv(), ...env, PORT: String(port), HOST: "127.0.0.1", METRICS: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const api = `http://127.0.0.1:${port}/api`;
    try {
      await waitUntilReady(api, 30_000);
      // The README's first curl.
      const list = await http(`${api}/products?pageSize=100`);
      expect(list.status).toBe(200);
      expect(list.body.total).toBeGreaterThanOrEqual(50);
      const rows = list.body.rows as {
        sku: string;
        priceCents: number;
        stock: number;
        currency: string;
        imageUrls: string[];
        description: string;
      }[];
      expect(new Set(rows.map((r) => r.sku.split("-")[0])).size).toBeGreaterThanOrEqual(5); // categories
      expect(new Set(rows.map((r) => r.priceCents)).size).toBeGreaterThan(30);
      expect(rows.filter((r) => r.stock === 0).length).toBeGreaterThan(0); // sold out, as in any shop
      expect(rows.every((r) => r.currency === "EUR" && r.imageUrls.length === 1)).toBe(true);
      expect((await http(`${api}/products?search=kitchen`)).body.total).toBeGreaterThanOrEqual(5);
      // A picture, without credentials: a PNG of its own.
      const pictures = await Promise.all(rows.slice(0, 3).map((r) => fetch(`http://127.0.0.1:${port}${r.imageUrls[0]}`)));
      const bodies = await Promise.all(
        pictures.map(async (res) => ({
          status: res.status,
          type: res.headers.get("content-type"),
          bytes: Buffer.from(await res.arrayBuffer()),
        })),
      );
      for (const b of bodies)
        expect({ status: b.status, type: b.type, png: b.bytes.subarray(1, 4).toString() }).toEqual({
          status: 200,
          type: "image/png",
          png: "PNG",
        });
      expect(new Set(bodies.map((b) => createHash("sha256").update(b.bytes).digest("hex"))).size).toBe(3);

      // The demo accounts sign in (200) with the passwords the seed printed.
      const shop = shopClient(api);
      const creds = credentials(first.out);
      const admin = as((await shop.signIn("demo.admin@example.com", creds["demo.admin@example.com"]!)).token);
      const shopper = as((await shop.signIn("demo.shopper@example.com", creds["demo.shopper@example.com"]!)).token);
      expect((await http(`${api}/users/me`, { headers: admin })).body).toMatchObject({ role: "admin", emailVerified: true });
      expect((await http(`${api}/users/me`, { headers: shopper })).body).toMatchObject({ role: "user", emailVerified: true });
      const orders = (await http(`${api}/orders`, { headers: shopper })).body;
      expect(orders.rows.map((o: { status: string }) => o.status).sort()).toEqual(["cancelled", "delivered", "paid", "pending", "shipped"]);
      const delivered = orders.rows.find((o: { status: string }) => o.status === "delivered");
      expect(delivered.statusHistory.map((s: { to: string }) => s.to)).toEqual(["pending", "paid", "shipped", "delivered"]);
      // The admin sees the inactive (discontinued) product too.
      expect((await http(`${api}/products?active=false`, { headers: admin })).body.total).toBe(1);

      // Someone uses the shop: its data is no longer only the demo's.
      await shop.register("real", { email: "real.customer@example.com", name: "Real" }); // 201
    } catch (err) {
      console.log(output);
      throw err;
    } finally {
      child.kill("SIGTERM");
      await exited(child);
    }
  }, 60_000);

  test("a second run changes nothing; a database with data the demo did not make is refused unless --force", () => {
    const before = { db: contents(env.SQLITE_PATH), files: listing(env.STORAGE_DIR) };
    const refused = seed(cwd, env);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /already holds data the demo did not make \(1 account\).*\nAdd the demo data anyway with: npm run seed -- --force\n$/,
    );
    expect({ db: contents(env.SQLITE_PATH), files: listing(env.STORAGE_DIR) }).toEqual(before);

    const forced = seed(cwd, env, ["--force"]);
    expect(forced.err).toBe("");
    expect(forced.code).toBe(0);
    expect(forced.out).toMatch(/^--force: adding the demo data next to 1 account\.$/m);
    expect(forced.out).toMatch(/^Nothing to do: the demo data is all there\.$/m);
    expectDemoOutput(forced.out);
    expect(credentials(forced.out)).toEqual(credentials(first.out)); // the same passwords on every run
    expect({ db: contents(env.SQLITE_PATH), files: listing(env.STORAGE_DIR) }).toEqual(before);
  }, 240_000);

  test("NODE_ENV=production is refused unless --force", () => {
    const prod = seed(cwd, {
      ...env,
      NODE_ENV: "production",
      DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
      JWT_SECRET: "j".repeat(40),
      SECRETS_KEY: "k".repeat(40),
    });
    expect(prod).toMatchObject({ code: 1, out: "" });
    expect(prod.err).toMatch(/^NODE_ENV=production: demo data .* --force if you mean it\.\n$/);
  });
});

const pgSuite = await describeWithServers("postgres");

pgSuite("npm run seed on PostgreSQL", () => {
  let db: TestDatabase;
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "shop-seed-pg-"));
  const env = () => ({ DATABASE_URL: db.url, STORAGE_DIR: path.join(cwd, "files"), MAIL_OUTBOX_DIR: path.join(cwd, "outbox") });

  beforeAll(async () => {
    db = await createTestDatabase("seed");
  });
  afterAll(async () => {
    await db?.drop();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  /** Every row of every table, as one hash: "changes nothing" means this stays the same. */
  async function fingerprint(): Promise<Record<string, string>> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const tables = (await client.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).rows.map(
        (r) => r.tablename as string,
      );
      const out: Record<string, string> = {};
      for (const t of tables)
        out[t] = (
          await client.query(`SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS h FROM "${t}" x`)
        ).rows[0].h;
      return out;
    } finally {
      await client.end();
    }
  }

  test("migrates and fills an empty database; a second run changes no row; a foreign product makes it refuse", async () => {
    const first = seed(cwd, env());
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^Migrating postgres:\/\//m);
    expectDemoOutput(first.out);

    const before = await fingerprint();
    expect(Number(before.products!.split(":")[0])).toBe(60);
    expect(Number(before.users!.split(":")[0])).toBe(2);
    expect(Number(before.orders!.split(":")[0])).toBe(5);
    expect(Number(before.files!.split(":")[0])).toBe(60);

    const again = seed(cwd, env());
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^Nothing to do: the demo data is all there\.$/m);
    expect(again.out).not.toMatch(/Migrating/);
    expect(await fingerprint()).toEqual(before);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`INSERT INTO products (id, sku, name, description, "priceCents", currency, stock, active, images, \
"createdAt", "updatedAt")
      VALUES (gen_random_uuid(), 'REAL-1', 'A real product', '', 100, 'EUR', 1, true, '[]', now(), now())`);
    await client.end();
    const withReal = await fingerprint();
    const refused = seed(cwd, env());
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/already holds data the demo did not make \(1 product\)/);
    expect(await fingerprint()).toEqual(withReal);
  }, 300_000);
});
