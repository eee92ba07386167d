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
import { createHmac } from "node:crypto";
import jwt from "jsonwebtoken";
import { SERVER_ENTRY, SERVER_ARGS, exited } from "../../scripts/support/cluster.ts";
import { signToken } from "../../integrations/storage/index.ts";
import { http, waitUntilReady } from "../support/node.ts";
import { shopClient, as, PASSWORD } from "../support/shop-client.ts";
import { until } from "../../scripts/support/until.ts";

const CONFIG_VARS = [
  "DATABASE_URL",
  "TRANSPORTER",
  "CACHER",
  "SERVICES",
  "NAMESPACE",
  "NODE_ID",
  "SQLITE_PATH",
  "MIGRATE_ON_START",
  "MAIL_OUTBOX_DIR",
  "STORAGE_DIR",
  "SMTP_URL",
  "S3_BUCKET",
  "SECRETS_DIR",
  "JWT_SECRET",
  "SECRETS_KEY",
  "NODE_ENV",
  "SMS_OUTBOX_DIR", // ./data/sms-outbox, the default, is what the first test reads
];
const CREATE_SUPERUSER = path.resolve(path.dirname(SERVER_ENTRY), "scripts/createsuperuser.ts");

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
  const su = spawnSync(process.execPath, [CREATE_SUPERUSER, "--email", "owner@example.com", "--password", PASSWORD], {
    cwd,
    env,
    encoding: "utf8",
  });
  expect(su.stdout + su.stderr).toMatch(/Superuser owner@example.com created/);
  const child = spawn(process.execPath, SERVER_ARGS, {
    cwd,
    env: { ...env, PORT: String(port), METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  try {
    const api = `http://127.0.0.1:${port}/api`;
    const shop = shopClient(api);
    await waitUntilReady(api, 20_000);
    expect(await http(`${api}/health/ready`)).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(await http(`${api}/products`)).toMatchObject({ status: 200, body: { rows: [], total: 0 } });
    expect(fs.existsSync(path.join(cwd, "data", "shop.sqlite"))).toBe(true);

    // A whole shopping trip on SQLite: products, accounts, checkout, cancellation, e-mails.
    const ownerToken = (await shop.signIn("owner@example.com")).token;
    const owner = as(ownerToken);
    const product = await shop.product(ownerToken, { sku: "EMB-1", name: "Embedded mug", priceCents: 1250, stock: 3 });
    const { token } = await shop.shopper("shopper", { email: "shopper@example.com", name: "Shopper" });
    const shopper = as(token);
    const order = await shop.order(token, product.id, 2, { "idempotency-key": "k-1" });
    expect(order).toMatchObject({ status: 201, body: { totalCents: 2500, status: "pending" } });
    expect((await http(`${api}/products/${product.id}`)).body.stock).toBe(1);
    expect((await http(`${api}/orders/${order.body.id}/cancel`, { method: "POST", headers: shopper })).body.status).toBe("cancelled");
    expect((await http(`${api}/products/${product.id}`)).body.stock).toBe(3);
    // A password change (one transaction on SQLite's single connection: profile, sessions, notice).
    const changed = await http(`${api}/users/me`, {
      method: "PATCH",
      headers: shopper,
      json: { password: `${PASSWORD} 2`, currentPassword: PASSWORD },
    });
    expect(changed.status).toBe(200);
    // welcome, confirmation, cancellation and password change, as .eml files in the outbox
    const outbox = path.join(cwd, "data", "outbox");
    await until("four e-mails in the outbox", () => fs.readdirSync(outbox).length >= 4, { timeoutMs: 10_000 });
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

    // SMS codes with nothing configured: a JSON file per message in ./data/sms-outbox.
    const enrol = await http(`${api}/auth/2fa/sms/enrol`, { method: "POST", headers: owner, json: { phoneNumber: "+33 6 12 34 56 78" } });
    expect(enrol).toMatchObject({ status: 202, body: { sent: true } });
    const smsOutbox = path.join(cwd, "data", "sms-outbox");
    const [sms] = fs.readdirSync(smsOutbox).map((f) => JSON.parse(fs.readFileSync(path.join(smsOutbox, f), "utf8")));
    expect(sms).toMatchObject({ to: "+33612345678", body: expect.stringMatching(/^\d{6} is your Moleculer Shop code/) });
    const code = /^(\d{6})/.exec(sms.body)![1];
    const confirmed = await http(`${api}/auth/2fa/sms/confirm`, { method: "POST", headers: owner, json: { code } });
    expect(confirmed).toMatchObject({ status: 200, body: { enabled: true } });
    const signIn = await http(`${api}/auth/login`, { method: "POST", json: { email: "owner@example.com", password: PASSWORD } });
    expect(signIn.body.methods).toEqual(["sms", "recovery"]);
    // The second step by SMS, on SQLite: a session and the device cookie, as every sign-in.
    const mfaToken = signIn.body.mfaToken;
    expect((await http(`${api}/auth/login/sms/send`, { method: "POST", json: { mfaToken } })).status).toBe(202);
    const texts = fs
      .readdirSync(smsOutbox)
      .sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(smsOutbox, f), "utf8")));
    const loginCode = /^(\d{6})/.exec(texts.at(-1).body)![1];
    const second = await http(`${api}/auth/login/sms`, { method: "POST", json: { mfaToken, code: loginCode } });
    expect(second).toMatchObject({ status: 200, body: { tokenType: "Bearer" } });
    expect(second.headers.get("set-cookie")).toMatch(/^shop_device=/);
    expect((await http(`${api}/users/me`, { headers: as(second.body.accessToken) })).status).toBe(200);
  } catch (err) {
    console.log(output);
    throw err;
  } finally {
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}, 90_000); // a real process on a shared 2-core machine: generous

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

/** `npm start` in `cwd` with nothing configured: the node, its output and its API, once ready. */
async function startUnconfigured(cwd: string, port: number) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CONFIG_VARS.includes(k)));
  const child = spawn(process.execPath, SERVER_ARGS, {
    cwd,
    env: { ...env, PORT: String(port), METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stdout.on("data", (d) => output.push(String(d)));
  child.stderr.on("data", (d) => output.push(String(d)));
  const api = `http://127.0.0.1:${port}/api`;
  const answersReady = async () => (await http(`${api}/health/ready`)).status === 200;
  // Ready, or gone: either way there is nothing more to wait for.
  const readyOrGone = async () => child.exitCode !== null || (await answersReady());
  await until("the node to be ready (or to exit)", readyOrGone, { timeoutMs: 20_000, intervalMs: 200 }).catch(() => undefined);
  if (child.exitCode !== null || !(await answersReady().catch(() => false))) {
    child.kill("SIGKILL");
    throw new Error(`the node did not become ready:\n${output.join("")}`);
  }
  return { child, output, api };
}

/**
 * Issue 12, finding 3: the secrets an unconfigured node uses are its own. The development
 * constants that used to ship in lib/config.ts are public (they are in the repository's
 * history): a token or a signed URL forged with them must get nowhere.
 */
const OLD_DEV_JWT_SECRET = "insecure-development-secret-change-me-0123456789";
const OLD_DEV_SECRETS_KEY = "insecure-development-secrets-key-change-me-0123";

test(`an unconfigured node generates its own secrets under ./data (0600), keeps them across a restart, \
and refuses forgeries with the old public ones`, async () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "shop-secrets-"));
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CONFIG_VARS.includes(k)));
  const su = spawnSync(process.execPath, [CREATE_SUPERUSER, "--email", "owner@example.com", "--password", PASSWORD], {
    cwd,
    env,
    encoding: "utf8",
  });
  expect(su.stdout + su.stderr).toMatch(/Superuser owner@example.com created/);
  let node = await startUnconfigured(cwd, port);
  try {
    const dir = path.join(cwd, "data", "secrets");
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const files = Object.fromEntries(["jwt-secret", "secrets-key"].map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8").trim()]));
    for (const f of Object.keys(files)) expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    expect(files["jwt-secret"]).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(files["secrets-key"]).toMatch(/^[A-Za-z0-9_-]{64}$/);

    const { api } = node;
    const shop = shopClient(api);
    const { token } = await shop.signIn("owner@example.com");
    const owner = jwt.decode(token) as { sub: string; sid: string };
    const ownerAuth = as(token);
    expect((await http(`${api}/users`, { headers: ownerAuth })).status).toBe(200);

    // The forgery: HS256 with the old development secret, sub = the superuser, no sid.
    const claims = { sub: owner.sub, role: "superuser", typ: "access" };
    const opts = { algorithm: "HS256" as const, expiresIn: 600, issuer: "moleculer-shop", audience: "moleculer-shop-api" };
    for (const forged of [jwt.sign(claims, OLD_DEV_JWT_SECRET, opts), jwt.sign({ ...claims, sid: owner.sid }, OLD_DEV_JWT_SECRET, opts)]) {
      expect((await http(`${api}/users`, { headers: as(forged) })).status).toBe(401);
    }
    // The same token signed with the generated secret would pass (the forgery is built right), but not without a sid.
    expect((await http(`${api}/users`, { headers: as(jwt.sign({ ...claims, sid: owner.sid }, files["jwt-secret"]!, opts)) })).status).toBe(
      200,
    );
    expect((await http(`${api}/users`, { headers: as(jwt.sign(claims, files["jwt-secret"]!, opts)) })).status).toBe(401);

    // Another user's private file, through a signed download URL forged with the old key.
    const victim = await shop.shopper("victim", { email: "victim@example.com", name: "Victim" });
    const form = new FormData();
    form.append("file", new Blob(["private notes"], { type: "text/plain" }), "notes.txt");
    const upload = await fetch(`${api}/files`, { method: "POST", headers: as(victim.token), body: form });
    expect(upload.status).toBe(201);
    const file = (await upload.json()) as { id: string };
    const urlKey = (material: string) => createHmac("sha256", material).update("storage signed URLs v1").digest();
    const signedUrl = (material: string) =>
      `${api}/files/signed/` +
      signToken(
        { k: `files/${file.id}`, m: "GET", e: Math.floor(Date.now() / 1000) + 600, t: "text/plain", f: "notes.txt" },
        urlKey(material),
      );
    expect(await http(signedUrl(OLD_DEV_SECRETS_KEY))).toMatchObject({ status: 403, body: { type: "SIGNATURE_MISMATCH" } });
    expect(await http(signedUrl(files["secrets-key"]!))).toMatchObject({ status: 200, body: "private notes" });

    // A restart reads the same secrets: the session and its token live on.
    node.child.kill("SIGTERM");
    expect(await exited(node.child)).toBe(0);
    node = await startUnconfigured(cwd, port);
    for (const f of Object.keys(files)) expect(fs.readFileSync(path.join(dir, f), "utf8").trim()).toBe(files[f]);
    expect((await http(`${node.api}/users`, { headers: ownerAuth })).status).toBe(200);
    expect((await http(signedUrl(files["secrets-key"]!))).status).toBe(200);
  } catch (err) {
    console.log(node.output.join(""));
    throw err;
  } finally {
    node.child.kill("SIGTERM");
    await exited(node.child);
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}, 90_000);
