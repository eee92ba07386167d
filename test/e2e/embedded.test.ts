/**
 * The README's first promise: with nothing configured, `npm start` runs the whole shop
 * on one node with an embedded SQLite database that migrates itself. Started here as a
 * real process in an empty folder, with no server of any kind needed.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { spawn, spawnSync } from "node:child_process";
import { SERVER_ENTRY, exited } from "../../lib/cluster.ts";
import { http } from "../support/node.ts";

const CONFIG_VARS = ["DATABASE_URL", "TRANSPORTER", "CACHER", "SERVICES", "NAMESPACE", "NODE_ID", "SQLITE_PATH", "MIGRATE_ON_START", "MAIL_OUTBOX_DIR", "STORAGE_DIR", "SMTP_URL", "S3_BUCKET"];
const CREATE_SUPERUSER = path.resolve(path.dirname(SERVER_ENTRY), "scripts/createsuperuser.ts");
const PASSWORD = "correct horse battery staple";

test("an unconfigured node serves the whole shop from ./data and stops cleanly", async () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "shop-embedded-"));
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CONFIG_VARS.includes(k)));
  // The first superuser, as the README says, before the shop starts.
  const su = spawnSync(process.execPath, [CREATE_SUPERUSER, "--email", "owner@example.com", "--password", PASSWORD], { cwd, env, encoding: "utf8" });
  expect(su.stdout + su.stderr).toMatch(/Superuser owner@example.com created/);
  const child = spawn(process.execPath, [SERVER_ENTRY], { cwd, env: { ...env, PORT: String(port), METRICS: "false" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  try {
    const api = `http://127.0.0.1:${port}/api`;
    const deadline = Date.now() + 20_000;
    let ready = await http(`${api}/health/ready`).catch(() => null);
    while (ready?.body?.status !== "ok" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      ready = await http(`${api}/health/ready`).catch(() => null);
    }
    expect(ready).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(await http(`${api}/products`)).toMatchObject({ status: 200, body: { rows: [], total: 0 } });
    expect(fs.existsSync(path.join(cwd, "data", "shop.sqlite"))).toBe(true);

    // A whole shopping trip on SQLite: products, accounts, checkout, cancellation, e-mails.
    const login = async (email: string) => (await http(`${api}/auth/login`, { method: "POST", json: { email, password: PASSWORD } })).body.accessToken as string;
    const owner = { authorization: `Bearer ${await login("owner@example.com")}` };
    const product = await http(`${api}/products`, { method: "POST", headers: owner, json: { sku: "EMB-1", name: "Embedded mug", priceCents: 1250, currency: "EUR", stock: 3 } });
    expect(product.status).toBe(201);
    expect((await http(`${api}/auth/register`, { method: "POST", json: { email: "shopper@example.com", password: PASSWORD, name: "Shopper" } })).status).toBe(201);
    const shopper = { authorization: `Bearer ${await login("shopper@example.com")}` };
    const order = await http(`${api}/orders`, { method: "POST", headers: { ...shopper, "idempotency-key": "k-1" }, json: { items: [{ productId: product.body.id, quantity: 2 }], shippingAddress: { name: "S", line1: "1 Road", city: "Oslo", postalCode: "0150", country: "NO" } } });
    expect(order).toMatchObject({ status: 201, body: { totalCents: 2500, status: "pending" } });
    expect((await http(`${api}/products/${product.body.id}`)).body.stock).toBe(1);
    expect((await http(`${api}/orders/${order.body.id}/cancel`, { method: "POST", headers: shopper })).body.status).toBe("cancelled");
    expect((await http(`${api}/products/${product.body.id}`)).body.stock).toBe(3);
    // A password change (one transaction on SQLite's single connection: profile, sessions, notice).
    const changed = await http(`${api}/users/me`, { method: "PATCH", headers: shopper, json: { password: `${PASSWORD} 2`, currentPassword: PASSWORD } });
    expect(changed.status).toBe(200);
    // welcome, confirmation, cancellation and password change, as .eml files in the outbox
    const outbox = path.join(cwd, "data", "outbox");
    const mailDeadline = Date.now() + 10_000;
    while ((fs.existsSync(outbox) ? fs.readdirSync(outbox).length : 0) < 4 && Date.now() < mailDeadline) await new Promise((r) => setTimeout(r, 100));
    const mails = fs.readdirSync(outbox).map((f) => fs.readFileSync(path.join(outbox, f), "utf8"));
    const subjects = mails.map((m) => /^Subject: (.*)$/m.exec(m)?.[1]);
    expect(subjects).toHaveLength(4);
    expect(subjects).toEqual(
      expect.arrayContaining([
        "Your password was changed",
        expect.stringMatching(/^Order \w{8} cancelled$/),
        expect.stringMatching(/Order_\w{8}_confirmed=3A_=E2=82=AC25/), // "… confirmed: €25", MIME-encoded
        expect.stringMatching(/^Welcome to Moleculer Shop/),
      ]),
    );
  } catch (err) {
    console.log(output);
    throw err;
  } finally {
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});
