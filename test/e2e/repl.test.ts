/**
 * The REPL as an operator uses it: `node server.ts --repl` (what `npm run repl` runs) with
 * SERVICES=none joins a running cluster (users, products, orders and mail nodes over RabbitMQ,
 * on PostgreSQL), and commands are typed on its stdin one at a time, each after the previous
 * one's prompt, while the test reads what comes back. Built-ins (nodes, services, call, dcall)
 * and every custom command of repl/commands.ts, with their error cases: each refusal is
 * one line, never a stack trace. Own namespace, database and SMTP server, so runs never meet.
 */
import fs from "node:fs";
import { freePort } from "../../scripts/support/free-port.ts";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { describeWithServers } from "../support/servers.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";
import { localClusterEnv, spawnCaptured, exited, SERVER_ARGS, type NodeSpec, type CapturedNode } from "../../scripts/support/cluster.ts";
import { loadConfig } from "../../lib/config.ts";
import { migrateUp } from "../../integrations/database/migrator.ts";
import { deleteShopTopology } from "../../integrations/messaging/durable-events.ts";
import { totpCode } from "../../integrations/authentication/totp.ts";
import { until } from "../../scripts/support/until.ts";
import { PASSWORD } from "../support/shop-client.ts";

const suite = await describeWithServers("postgres", "rabbitmq");
const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const PROMPT = "mol $ ";

/** The cluster the REPL joins: one node per service it talks to (two cores: no more). */
const NODES: NodeSpec[] = [
  { id: "users-1", services: "users" },
  { id: "products-1", services: "products" },
  { id: "orders-1", services: "orders" },
  { id: "mail-1", services: "mail" },
];

/** The id of the entity a `call` printed (its echo of params and meta comes first). */
const RESPONSE_ID = />> Response:\s*\{\s*id: '([0-9a-f-]{36})'/;
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

/** A REPL process and what it has printed so far (stdout and stderr apart: the prompt is on stdout). */
class Repl {
  readonly child: ChildProcess;
  out = "";
  err = "";
  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [...SERVER_ARGS, "--repl"], { env, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout!.on("data", (d) => (this.out += plain(String(d))));
    this.child.stderr!.on("data", (d) => (this.err += plain(String(d))));
    this.child.stdin!.on("error", () => undefined); // a REPL that died: reported by waitFor, not as EPIPE
  }

  /** Wait until `done(stdout, stderr)` holds for the output after the given offsets. */
  private async waitFor(from: { out: number; err: number }, done: (out: string, err: string) => boolean, what: string, timeoutMs: number) {
    const printed = () => ({ out: this.out.slice(from.out), err: this.err.slice(from.err) });
    const exited = () => this.child.exitCode !== null || this.child.signalCode !== null;
    // Done, or the REPL is gone: either way there is nothing more to wait for.
    await until(what, () => done(printed().out, printed().err) || exited(), { timeoutMs, intervalMs: 20 }).catch(() => {
      throw new Error(`timed out waiting for ${what}; got:\n${printed().out}${printed().err}`);
    });
    const { out, err } = printed();
    const code = this.child.exitCode ?? this.child.signalCode;
    if (!done(out, err)) throw new Error(`the REPL exited (${code}) while waiting for ${what}:\n${out}${err}`);
    return { out, err, all: out + err };
  }

  ready(timeoutMs = 30_000) {
    return this.waitFor({ out: 0, err: 0 }, (out) => out.includes(PROMPT), "the first prompt", timeoutMs);
  }

  /**
   * Type one line, then wait for the next prompt (and for `expect`, when given: an error line
   * goes to stderr, which may arrive after the prompt). Returns everything printed meanwhile.
   */
  async type(line: string, expect?: RegExp, timeoutMs = 15_000): Promise<string> {
    const from = { out: this.out.length, err: this.err.length };
    this.child.stdin!.write(`${line}\n`);
    const { all } = await this.waitFor(
      from,
      (out, err) => out.includes(PROMPT) && (!expect || expect.test(out + err)),
      `the output of "${line}"`,
      timeoutMs,
    );
    return all.split(PROMPT).join("").trim();
  }

  /** Type a line until its output matches (a person waiting for the cluster to catch up). */
  async typeUntil(line: string, match: RegExp, timeoutMs = 30_000): Promise<string> {
    let output = "";
    let failure: unknown = null;
    const printsIt = async () => {
      failure = null;
      output = await this.type(line).catch((err: unknown) => {
        failure = err;
        throw err;
      });
      return match.test(output);
    };
    await until(`"${line}" to print ${match}`, printsIt, { timeoutMs, intervalMs: 300 }).catch(() => {
      throw failure ?? new Error(`"${line}" never printed ${match}; last output:\n${output}`);
    });
    return output;
  }
}

/** One line, no stack trace: what every refusal of a custom command looks like. */
function expectOneErrorLine(output: string, message: RegExp) {
  const lines = output.split("\n").filter((l) => l.trim());
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^Error: /);
  expect(lines[0]).toMatch(message);
  expect(output).not.toMatch(/\n\s+at /);
}

suite("the REPL joins a running cluster", () => {
  const namespace = `e2e-repl-${randomBytes(4).toString("hex")}`;
  let home = "";
  const nodes = new Map<string, CapturedNode>();
  let db: TestDatabase;
  let smtp: TestSmtp;
  let repl: Repl | undefined;

  const boss = `boss-${randomBytes(3).toString("hex")}@example.com`;
  const shopper = `shopper-${randomBytes(3).toString("hex")}@example.com`;
  const sku = `MUG-${randomBytes(3).toString("hex").toUpperCase()}`;
  let shopperId = "";
  let productId = "";
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), "shop-repl-home-")); // the REPL's history file goes here
    db = await createTestDatabase("repl");
    await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
    smtp = await startSmtp();
    smtp.reject.add(shopper); // the shopper's mail goes to the dead letters, for mail-retry
    const metricsPort = await freePort();
    env = localClusterEnv(
      { namespace, transporter: AMQP, databaseUrl: db.url },
      { RATE_LIMIT_STORE: "memory", SMTP_URL: smtp.url, MAIL_MAX_ATTEMPTS: "2", MAIL_RETRY_BASE_MS: "100" },
    );
    for (const spec of NODES) {
      // users-1 serves metrics on METRICS_PORT, as a cluster node on this machine would.
      nodes.set(spec.id, spawnCaptured(spec, spec.id === "users-1" ? { ...env, METRICS: "true", METRICS_PORT: String(metricsPort) } : env));
    }
    // `SERVICES=none npm run repl` with the same METRICS_PORT and METRICS unset: the REPL
    // node must not try to take the port (it would stop with EADDRINUSE).
    // LOG_LEVEL=error: a warning logged between two commands would land in a command's output.
    const replEnv: NodeJS.ProcessEnv = {
      ...env,
      SERVICES: "none",
      NODE_ID: "repl-1",
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: "error",
      LOG_FORMAT: "pretty",
      HOME: home,
    };
    delete replEnv.METRICS;
    delete replEnv.DATABASE_URL;
    repl = new Repl(replEnv);
    await repl.ready(45_000); // ~1 s on an idle machine; the nodes above start at the same time on 2 cores
    // Wait as a person would: until `services` lists what the nodes run.
    await repl.typeUntil("services", /^(?=[\s\S]*\busers\b)(?=[\s\S]*\bproducts\b)(?=[\s\S]*\borders\b)(?=[\s\S]*\bmail\b)/, 40_000);
  }, 120_000);

  afterAll(async () => {
    const children = [...nodes.values()].map((n) => n.child);
    if (repl) children.push(repl.child);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    // A node that does not stop in time is killed: nothing outlives the suite.
    await Promise.all(
      children.map(async (child) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited(child);
        clearTimeout(timer);
      }),
    );
    await deleteShopTopology(AMQP, namespace, loadConfig(env)).catch(() => undefined);
    await smtp?.close();
    await db?.drop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  }, 30_000);

  afterEach(() => {
    // On failure, the nodes' own words are the first thing to read.
    const state = expect.getState();
    if (state.assertionCalls !== state.numPassingAsserts) {
      for (const [id, { output }] of nodes) console.log(`--- ${id}\n${output.join("").slice(-3000)}`);
      if (repl) console.log(`--- repl stdout\n${repl.out.slice(-4000)}\n--- repl stderr\n${repl.err.slice(-2000)}`);
    }
  });

  test("nodes and services show the whole cluster; the REPL node runs without a metrics port", async () => {
    const nodesOut = await repl!.type("nodes");
    for (const id of NODES.map((n) => n.id)) expect(nodesOut).toMatch(new RegExp(`${id}\\s.*ONLINE`));
    expect(nodesOut).toMatch(/repl-1 \(\*\)/);
    const services = await repl!.type("services");
    for (const name of ["users", "products", "orders", "mail"]) expect(services).toMatch(new RegExp(`\\b${name}\\b`));
    expect(repl!.out + repl!.err).not.toMatch(/EADDRINUSE/);
  });

  test("createsuperuser, users and setrole, with one clear line for every refusal", async () => {
    const created = await repl!.type(`createsuperuser ${boss} "${PASSWORD}" Boss`);
    expect(created).toMatch(new RegExp(`^Superuser ${boss} created \\(id [0-9a-f-]{36}\\)\\.$`));
    const bossId = /\(id ([0-9a-f-]{36})\)/.exec(created)![1]!;
    const again = await repl!.type(`createsuperuser ${boss} "${PASSWORD}"`, /Error/);
    expectOneErrorLine(again, /^Error: User with this email already exists\.$/);
    expectOneErrorLine(await repl!.type(`createsuperuser other@example.com password1`, /Error/), /^Error: The password must be/);

    const bossOut = await repl!.type(`users ${boss}`);
    expect(bossOut).toMatch(new RegExp(`^${boss}\\n`));
    expect(bossOut).toMatch(/^\s+name\s+Boss$/m);
    expect(bossOut).toMatch(/^\s+role\s+superuser$/m);
    expect(bossOut).toMatch(/^\s+active\s+yes$/m);
    expect(bossOut).toMatch(/^\s+2FA\s+off$/m);

    // The boss turns two-factor on (the account actions, called with the boss as principal).
    const asBoss = `'{"user": {"id": "${bossId}", "role": "superuser"}}'`;
    const secret = /secret: '([A-Z2-7]+)'/.exec(await repl!.type(`call users.twoFactorSetup '{}' ${asBoss}`))![1]!;
    expect(await repl!.type(`call users.twoFactorEnable '{"code": "${totpCode(secret)}"}' ${asBoss}`)).toMatch(/enabled: true/);
    expect(await repl!.type(`users ${boss}`)).toMatch(/^\s+2FA\s+on$/m);

    expectOneErrorLine(await repl!.type("users nobody@example.com", /Error/), /^Error: No user matches nobody@example\.com\.$/);
    expectOneErrorLine(await repl!.type(`setrole ${boss} user`, /Error/), /last active superuser/);
    expectOneErrorLine(await repl!.type(`setrole ${boss} wizard`, /Error/), /^Error: Unknown role "wizard": use user, admin, superuser\.$/);
    expectOneErrorLine(await repl!.type("setrole nobody@example.com admin", /Error/), /^Error: No user with e-mail nobody@example\.com\.$/);

    // A shopper registers (a public action, called as a service would), then gets promoted.
    expect(await repl!.type(`call users.register --email ${shopper} --password "${PASSWORD}" --name Shopper`)).toMatch(/role: 'user'/);
    const shopperOut = await repl!.type(`users ${shopper}`);
    shopperId = /^\s+id\s+([0-9a-f-]{36})$/m.exec(shopperOut)![1]!;
    expect(shopperOut).toMatch(/^\s+role\s+user$/m);
    expect(await repl!.type(`setrole ${shopper} admin`)).toBe(`${shopper}: user → admin (their sessions were ended).`);
    expect(await repl!.type(`users ${shopper}`)).toMatch(/^\s+role\s+admin$/m);
    expect(await repl!.type(`setrole ${shopper} admin`)).toBe(`${shopper} is admin already.`);
    expect(await repl!.type(`setrole ${shopper} user`)).toBe(`${shopper}: admin → user (their sessions were ended).`);

    // Part of an address: the matching users, as a table.
    const partial = await repl!.type("users example.com");
    expect(partial).toMatch(/^No user with e-mail example\.com; 2 users match:/);
    expect(partial).toMatch(new RegExp(`${boss}\\s*│\\s*Boss\\s*│\\s*superuser\\s*│\\s*yes\\s*│\\s*on`));
    expect(partial).toMatch(new RegExp(`${shopper}\\s*│\\s*Shopper\\s*│\\s*user\\s*│\\s*yes\\s*│\\s*off`));
  });

  test("call and dcall reach the products nodes; stock adjusts by a delta and never below zero", async () => {
    const created = await repl!.type(
      `call products.create --sku ${sku} --name Mug --priceCents 1200 --currency EUR --stock 10 --#user.role admin --#user.id ops`,
    );
    productId = RESPONSE_ID.exec(created)![1]!;

    const list = await repl!.type(`call products.list --search ${sku}`);
    expect(list).toMatch(/total: 1/);
    expect(list).toContain(`sku: '${sku}'`);

    expect(await repl!.type(`stock ${sku} -3`)).toBe(`${sku} (Mug): stock 10 → 7 (-3).`);
    expect(await repl!.type(`stock ${sku} +5`)).toBe(`${sku} (Mug): stock 7 → 12 (+5).`);
    expectOneErrorLine(
      await repl!.type(`stock ${sku} -100`, /Error/),
      new RegExp(`^Error: Not enough stock: ${sku} has 12, cannot take 100\\.$`),
    );
    expectOneErrorLine(await repl!.type("stock NO-SUCH-SKU 1", /Error/), /^Error: Product not found\.$/);
    expectOneErrorLine(await repl!.type(`stock ${sku} lots`, /Error/), /^Error: The delta must be a whole number/);

    // dcall: on the one products node, by its NODE_ID; the cache was cleaned by the change.
    expect(await repl!.type(`dcall products-1 products.get --id ${productId}`)).toMatch(/stock: 12/);
  });

  test("orders: a summary per status, the list of one status", async () => {
    const order = await repl!.type(
      `call orders.create '{"items": [{"productId": "${productId}", "quantity": 2}], ` +
        `"shippingAddress": {"name": "Shopper", "line1": "1 Main St", "city": "Berlin", "postalCode": "10115", "country": "DE"}}' ` +
        `'{"user": {"id": "${shopperId}", "role": "user"}}'`,
    );
    expect(order).toMatch(/status: 'pending'/);
    const orderId = RESPONSE_ID.exec(order)![1]!;

    const summary = await repl!.type("orders");
    expect(summary).toMatch(/pending\s*│\s*1\s*│\s*€24\.00/);
    expect(summary).toMatch(/paid\s*│\s*0\s*│\s*-/);
    expect(summary).toMatch(/all\s*│\s*1\s*│\s*€24\.00/);

    const pending = await repl!.type("orders pending");
    expect(pending).toContain(orderId);
    expect(pending).toContain(shopper);
    expect(pending).toMatch(/pending: 1-1 of 1, newest first\./);
    expect(await repl!.type("orders pending --page 2")).toBe("Page 2 is past the last page (1) of 1 pending order.");
    expect(await repl!.type("orders paid")).toBe("No paid orders.");
    expectOneErrorLine(
      await repl!.type("orders lost", /Error/),
      /^Error: Unknown status "lost": use pending, paid, shipped, delivered, cancelled\.$/,
    );
    expect(await repl!.type(`stock ${sku} 0`)).toBe(`${sku} (Mug): stock 10 → 10 (+0).`);
  });

  test("mail-retry: lists the dead letters, re-queues one by id, then all", async () => {
    // The SMTP server refused the shopper's welcome and order confirmation: after two attempts each, dead letters.
    const listed = await repl!.typeUntil("mail-retry --list", /2 dead-lettered messages/, 30_000);
    expect(listed).toContain(`user.registered:${shopperId}`);
    expect(listed).toMatch(/order\.created:[0-9a-f-]{36}/);
    expect(listed).toContain(shopper);
    expectOneErrorLine(await repl!.type("mail-retry no-such-message", /Error/), /^Error: Failed message not found\.$/);

    smtp.reject.delete(shopper);
    expect(await repl!.type(`mail-retry user.registered:${shopperId}`)).toBe(`Re-queued user.registered:${shopperId}.`);
    const welcome = await smtp.waitFor(shopper, 1, 15_000);
    expect(welcome[0]!.subject).toMatch(/welcome/i);

    const all = await repl!.type("mail-retry");
    expect(all).toMatch(/^Re-queued order\.created:[0-9a-f-]{36} \(order\.created to shopper-/m);
    expect(all).toMatch(/^Re-queued 1 of 1 dead-lettered message\.$/m);
    await smtp.waitFor(shopper, 2, 15_000);
    expect(await repl!.type("mail-retry")).toBe("No dead-lettered mail.");
  }, 60_000);

  test("q leaves the cluster; the other nodes carry on", async () => {
    repl!.child.stdin!.write("q\n");
    expect(await exited(repl!.child)).toBe(0);
    for (const { child } of nodes.values()) expect(child.exitCode).toBeNull();
  });
});
