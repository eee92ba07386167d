/**
 * `npm run createsuperuser -- --email E --password P`: bootstrapping the first superuser
 * against the configured database (here a fresh SQLite file), with the same rules as the API.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../scripts/createsuperuser.ts");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-su-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, SQLITE_PATH: path.join(dir, "shop.sqlite"), LOG_LEVEL: "warn", METRICS: "false" };
  delete env.DATABASE_URL;
  delete env.TRANSPORTER;
  const res = spawnSync(process.execPath, [SCRIPT, ...args], { env, encoding: "utf8", timeout: 30_000 });
  return { code: res.status, out: `${res.stdout}${res.stderr}` };
}

test("creates a superuser once; refuses a duplicate and a weak password", () => {
  const ok = run("--email", "Boss@Example.com", "--password", "a long and proper passphrase", "--name", "Boss");
  expect(ok).toMatchObject({ code: 0, out: expect.stringContaining("Superuser boss@example.com created") });
  const again = run("--email", "boss@example.com", "--password", "a long and proper passphrase");
  expect(again.code).toBe(1);
  expect(again.out).toMatch(/already exists/);
  const weak = run("--email", "other@example.com", "--password", "password1");
  expect(weak.code).toBe(1);
  expect(weak.out).toMatch(/Could not create the superuser: .*password/i);
});
