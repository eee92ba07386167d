/**
 * The anchors of issue 15, measured side by side in one run: what a product read costs in the
 * shop against what it costs on the bare frameworks underneath it and in the monolith a user
 * would pick instead, and what the monolith's checkout costs (bench/checkout.ts measures the
 * shop's). Each server runs in its own processes, started for its scenario and stopped after
 * it; autocannon (bench/cannon.ts) sends `GET /api/products/:id` over 50 keep-alive connections,
 * rotating over the 1,000 products of a fresh PostgreSQL database. Per scenario: req/s, p50/p99
 * under that load, and the CPU time per request of every process involved (its own processes,
 * PostgreSQL's and RabbitMQ's where it uses them), read from /proc (bench/cpu.ts).
 *
 *   raw          node:http answering from memory (the floor of a cached read)
 *   floor        bare moleculer-web gateway + a products.get from memory, one process
 *   floorAmqp    the same over AMQP (amqpTransporter as shipped): gateway and service, two processes
 *   fastify      Fastify + Sequelize, findByPk on PostgreSQL
 *   shopCached   the shop, one node with every service (no transporter, PostgreSQL), CACHER=memory
 *   shopUncached the same, CACHER=none
 *   amqpCached   the shop, a gateway node and a products node over AMQP, CACHER=memory
 *   amqpUncached the same, CACHER=none
 *   checkout     the monolith's checkout (bench/servers/monolith.ts) at 16 and 64 requests in
 *                flight, with the same load runner as the shop's checkout (bench/http-load.ts)
 *   startup      the embedded default (SQLite, nothing configured): time to ready and idle RSS
 *
 * BENCH_ANCHORS=raw,floor,... runs only the named ones (startup and checkout included).
 * BENCH_PROFILE_DIR=<dir>: the servers run with --cpu-prof and the probe (bench/profiling.ts).
 */
import os from "node:os";
import path from "node:path";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { randomBytes, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import jwt from "jsonwebtoken";
import pg from "pg";
import { loadConfig } from "../lib/config.ts";
import { migrateUp } from "../integrations/database/migrator.ts";
import { freePort } from "../scripts/support/free-port.ts";
import { localClusterEnv, spawnNode, SERVER_ARGS } from "../scripts/support/cluster.ts";
import { createScratchDatabase, type ScratchDatabase } from "../scripts/support/scratch-database.ts";
import { deleteNamespace } from "./amqp-cleanup.ts";
import { deleteDurableTopology } from "./checkout.ts";
import { cannon } from "./cannon.ts";
import { cpuSeconds, cpuShares, rssBytes, sampleCpu } from "./cpu.ts";
import { failuresOf, loadRunner, type Statuses } from "./http-load.ts";
import { startChild, waitForHttp, watch, type Child } from "./processes.ts";
import { mark, profiledEnv } from "./profiling.ts";

export const ANCHOR_SCENARIOS = [
  "raw",
  "floor",
  "floorAmqp",
  "fastify",
  "shopCached",
  "shopUncached",
  "amqpCached",
  "amqpUncached",
  "checkout",
  "startup",
] as const;
export type AnchorScenario = (typeof ANCHOR_SCENARIOS)[number];

export interface AnchorLimits {
  products: number;
  /** Connections of the read scenarios. */
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** Requests in flight for the monolith's checkout (as for the shop's). */
  checkoutInFlight: number[];
  checkoutSeconds: number;
  /** How long a node idles after it is ready before its RSS is read. */
  idleSeconds: number;
  startTimeoutMs: number;
}

export const ANCHOR_LIMITS: { full: AnchorLimits; quick: AnchorLimits } = {
  full: {
    products: 1_000,
    connections: 50,
    warmupSeconds: 2,
    seconds: 8,
    checkoutInFlight: [16, 64],
    checkoutSeconds: 8,
    idleSeconds: 5,
    startTimeoutMs: 60_000,
  },
  quick: {
    products: 1_000,
    connections: 50,
    warmupSeconds: 1,
    seconds: 2,
    checkoutInFlight: [16, 64],
    checkoutSeconds: 2,
    idleSeconds: 2,
    startTimeoutMs: 60_000,
  },
};

export interface LoadRow {
  scenario: AnchorScenario;
  label: string;
  /** Connections (reads) or requests in flight (checkout). */
  concurrency: number;
  requests: number;
  ok: number;
  perSec: number;
  p50: number;
  p99: number;
  statuses: Statuses;
  failures: number;
  /** CPU ms per successful request: all processes involved, and each of them; null off Linux. */
  cpuMsPerRequest: number | null;
  cpuMs: Record<string, number> | null;
  /** Share of the machine (all cores, %) busy outside the measured processes and the load generator. */
  otherPct: number | null;
  /** Share of the machine (%) the load generator (this process) used. */
  benchPct: number | null;
}

export interface StartRow {
  role: string;
  /** From spawn to ready (HTTP 200 from /api/health/ready, or the node's start line); null when not measured. */
  readySeconds: number | null;
  /** RSS after idling `idleSeconds` once ready, in MB (10^6 bytes). */
  rssMB: number | null;
}

export interface AnchorsResult {
  limits: AnchorLimits;
  scenarios: AnchorScenario[];
  rows: LoadRow[];
  startup: StartRow[];
  /** The monolith's checkout: stock before and after against its 201 answers. */
  monolithStock: { initial: number; orders: number; expected: number; actual: number; ok: boolean } | null;
}

export interface AnchorsOptions {
  amqpUrl: string;
  pgAdminUrl: string;
  limits: AnchorLimits;
  scenarios?: AnchorScenario[];
  progress?: (msg: string) => void;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = (name: string) => path.join(HERE, "servers", `${name}.ts`);
const INITIAL_STOCK = 10_000_000;
const SHIPPING = { name: "Bench Shopper", line1: "1 Hauptstraße", city: "Berlin", postalCode: "10115", country: "DE" };
const PROGRAMS = { postgres: ["postgres"], rabbitmq: ["beam.smp"] } as const;
type Program = keyof typeof PROGRAMS;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number | null) => (bytes === null ? null : bytes / 1e6);

/** The products of the run, as the shop answers GET /api/products/:id. */
function makeProducts(n: number): Record<string, unknown>[] {
  const now = new Date();
  return Array.from({ length: n }, (_, i) => ({
    id: randomUUID(),
    sku: `BENCH-${String(i).padStart(4, "0")}`,
    name: `Benchmark product ${i}`,
    description: "A sturdy stoneware mug for benchmarks: 350 ml, dishwasher-safe, glazed inside and out, made to be read a million times.",
    priceCents: 1_000 + i,
    currency: "EUR",
    stock: INITIAL_STOCK,
    active: true,
    images: [],
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    imageUrls: [],
  }));
}

async function seedProducts(url: string, products: Record<string, unknown>[]): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (let start = 0; start < products.length; start += 200) {
      const batch = products.slice(start, start + 200);
      const values: unknown[] = [];
      const rows = batch.map((p, i) => {
        values.push(p.id, p.sku, p.name, p.description, p.priceCents, p.currency, p.stock, p.active, "[]", p.createdAt, p.updatedAt);
        return `(${Array.from({ length: 11 }, (_, k) => `$${i * 11 + k + 1}`).join(",")})`;
      });
      await c.query(
        `INSERT INTO products (id, sku, name, description, "priceCents", currency, stock, active, images, "createdAt", "updatedAt") ` +
          `VALUES ${rows.join(",")}`,
        values,
      );
    }
    await c.query("ANALYZE products");
  } finally {
    await c.end();
  }
}

export async function anchors(opts: AnchorsOptions): Promise<AnchorsResult> {
  const { limits, amqpUrl } = opts;
  const progress = opts.progress ?? (() => {});
  const scenarios = opts.scenarios ?? [...ANCHOR_SCENARIOS];
  const run = randomBytes(4).toString("hex");
  const children = new Set<Child>();
  const namespaces: { namespace: string; nodeIDs: string[]; durable: boolean }[] = [];
  let db: ScratchDatabase | undefined;
  let tmp: string | undefined;

  const stop = async (...list: Child[]) => {
    await Promise.all(list.map((c) => c.stop()));
    for (const c of list) children.delete(c);
  };
  const cleanup = async () => {
    const problems: string[] = [];
    await stop(...children).catch((err: Error) => problems.push(`stopping: ${err.message}`));
    for (const ns of namespaces) {
      try {
        await deleteNamespace(amqpUrl, ns.namespace, ns.nodeIDs);
        if (ns.durable) await deleteDurableTopology(amqpUrl, ns.namespace);
      } catch (err) {
        problems.push(`deleting namespace ${ns.namespace}: ${(err as Error).message}`);
      }
    }
    if (db) await db.drop().catch((err: Error) => problems.push(`dropping ${db!.name}: ${err.message}`));
    if (tmp) await rm(tmp, { recursive: true, force: true });
    for (const p of problems) progress(`clean-up problem: ${p}`);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: cleaning up before exiting`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const rows: LoadRow[] = [];
  const startup: StartRow[] = [];
  let monolithStock: AnchorsResult["monolithStock"] = null;
  try {
    // --- database and products ---------------------------------------------------------
    const dbName = `shop_bench_anchors_${run}`;
    progress(`creating database ${dbName} with ${limits.products} products`);
    db = await createScratchDatabase(opts.pgAdminUrl, dbName);
    await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
    const products = makeProducts(limits.products);
    await seedProducts(db.url, products);
    tmp = await mkdtemp(path.join(os.tmpdir(), "shop-bench-anchors-"));
    const productsFile = path.join(tmp, "products.json");
    await writeFile(productsFile, JSON.stringify(products));
    const ids = products.map((p) => p.id as string);
    const productPath = (i: number) => `/api/products/${ids[i % ids.length]}`;

    const secret = randomBytes(48).toString("base64url");
    const shopEnv = (namespace: string, transporter: string, extra: NodeJS.ProcessEnv) =>
      localClusterEnv(
        { namespace, transporter, databaseUrl: db!.url },
        {
          NODE_ENV: "production",
          JWT_SECRET: secret,
          SECRETS_KEY: randomBytes(48).toString("base64url"),
          RATE_LIMIT_STORE: "memory",
          RATE_LIMIT_FACTOR: "10000",
          HOST: "127.0.0.1",
          SMTP_URL: "",
          MAIL_OUTBOX_DIR: path.join(tmp!, "outbox"),
          STORAGE_DIR: path.join(tmp!, "files"),
          ...extra,
        },
      );

    const started = (child: Child) => {
      children.add(child);
      return child;
    };
    const alive =
      (...list: Child[]) =>
      () => {
        for (const c of list)
          if (c.exited()) throw new Error(`${c.label} exited (${c.child.exitCode ?? c.child.signalCode}):\n${c.tail().slice(-2_000)}`);
      };

    /** Warm-up, then the measured run, with the CPU of `pids` (and of `programs`) before and after. */
    const readLoad = async (
      scenario: AnchorScenario,
      label: string,
      origin: string,
      pids: Record<string, number[]>,
      programs: Program[],
      profileAs: string = scenario,
    ) => {
      progress(`${label}: ${limits.warmupSeconds} s warm-up, ${limits.seconds} s at ${limits.connections} connections`);
      await cannon({ origin, path: productPath, connections: limits.connections, seconds: limits.warmupSeconds });
      const all = Object.values(pids).flat();
      await mark(profileAs, `${scenario} start`, all);
      const measured = await withCpu(pids, programs, () =>
        cannon({ origin, path: productPath, connections: limits.connections, seconds: limits.seconds }),
      );
      await mark(profileAs, `${scenario} end`, all, { requests: measured.ok });
      rows.push({ scenario, label, concurrency: limits.connections, ...measured });
    };

    const want = (s: AnchorScenario) => scenarios.includes(s);

    // --- the floors ----------------------------------------------------------------------
    if (want("raw")) {
      const port = await freePort();
      const server = started(
        startChild(
          "raw node:http",
          [SERVER("raw-http")],
          profiledEnv("raw", { ...process.env, PORT: String(port), BENCH_PRODUCTS_FILE: productsFile }),
        ),
      );
      await server.line(/^ready$/, limits.startTimeoutMs);
      await readLoad("raw", "raw node:http from memory", `http://127.0.0.1:${port}`, { server: [server.pid] }, []);
      await stop(server);
    }

    if (want("floor")) {
      const port = await freePort();
      const env = { ...process.env, PORT: String(port), BENCH_PRODUCTS_FILE: productsFile, BENCH_ROLE: "one" };
      const server = started(startChild("moleculer-web floor", [SERVER("moleculer-web")], profiledEnv("floor", env)));
      await server.line(/^ready$/, limits.startTimeoutMs);
      await readLoad("floor", "moleculer-web → action from memory, one process", `http://127.0.0.1:${port}`, { server: [server.pid] }, []);
      await stop(server);
    }

    if (want("floorAmqp")) {
      const port = await freePort();
      const namespace = `bench-anchors-${run}-floor`;
      const env = { ...process.env, PORT: String(port), BENCH_PRODUCTS_FILE: productsFile, TRANSPORTER: amqpUrl, NAMESPACE: namespace };
      const service = started(
        startChild("floor service", [SERVER("moleculer-web")], profiledEnv("floorAmqp", { ...env, BENCH_ROLE: "service" })),
      );
      const gateway = started(
        startChild("floor gateway", [SERVER("moleculer-web")], profiledEnv("floorAmqp", { ...env, BENCH_ROLE: "gateway" })),
      );
      namespaces.push({ namespace, nodeIDs: [`service-${service.pid}`, `gateway-${gateway.pid}`], durable: false });
      await Promise.all([service.line(/^ready$/, limits.startTimeoutMs), gateway.line(/^ready$/, limits.startTimeoutMs)]);
      await readLoad(
        "floorAmqp",
        "moleculer-web → action from memory over AMQP, two processes",
        `http://127.0.0.1:${port}`,
        { gateway: [gateway.pid], service: [service.pid] },
        ["rabbitmq"],
      );
      await stop(gateway, service);
    }

    // --- the monolith: its read now, its checkout at the end ---------------------------
    let monolith: { child: Child; origin: string } | undefined;
    const startMonolith = async () => {
      if (monolith) return monolith;
      const port = await freePort();
      const env = { ...process.env, PORT: String(port), DATABASE_URL: db!.url, JWT_SECRET: secret };
      const child = started(startChild("Fastify + Sequelize", [SERVER("monolith")], profiledEnv("monolith", env)));
      await child.line(/^ready$/, limits.startTimeoutMs);
      monolith = { child, origin: `http://127.0.0.1:${port}` };
      return monolith;
    };
    if (want("fastify")) {
      const m = await startMonolith();
      await readLoad("fastify", "Fastify + Sequelize findByPk (PostgreSQL)", m.origin, { server: [m.child.pid] }, ["postgres"], "monolith");
    }

    // --- the shop: one node ---------------------------------------------------------------
    for (const [scenario, cacher] of [
      ["shopCached", "memory"],
      ["shopUncached", "none"],
    ] as const) {
      if (!want(scenario)) continue;
      const port = await freePort();
      const env = shopEnv(`bench-anchors-${run}-one`, "", { CACHER: cacher, PORT: String(port), APP_URL: `http://127.0.0.1:${port}` });
      const node = started(
        watch(`shop, one node (CACHER=${cacher})`, spawnNode({ id: `embedded-${cacher}`, services: "all" }, profiledEnv(scenario, env))),
      );
      const origin = `http://127.0.0.1:${port}`;
      const readySeconds = await waitForHttp(`${origin}/api/health/ready`, readyOk, {
        since: node.startedAt,
        timeoutMs: limits.startTimeoutMs,
        alive: alive(node),
      });
      await sleep(limits.idleSeconds * 1000);
      startup.push({ role: `one node, every service (PostgreSQL, CACHER=${cacher})`, readySeconds, rssMB: mb(rssBytes(node.pid)) });
      await readLoad(
        scenario,
        `shop, one node, ${cacher === "none" ? "uncached" : "cached"} (CACHER=${cacher})`,
        origin,
        { node: [node.pid] },
        ["postgres"],
      );
      await stop(node);
    }

    // --- the shop: gateway → products node over AMQP ---------------------------------------
    for (const [scenario, cacher] of [
      ["amqpCached", "memory"],
      ["amqpUncached", "none"],
    ] as const) {
      if (!want(scenario)) continue;
      const port = await freePort();
      const namespace = `bench-anchors-${run}-${cacher}`;
      const env = shopEnv(namespace, amqpUrl, { CACHER: cacher, PORT: String(port), APP_URL: `http://127.0.0.1:${port}` });
      const productsNode = started(watch("products-1", spawnNode({ id: "products-1", services: "products" }, profiledEnv(scenario, env))));
      const api = started(watch("api-1", spawnNode({ id: "api-1", services: "api" }, profiledEnv(scenario, env))));
      namespaces.push({ namespace, nodeIDs: ["products-1", "api-1"], durable: true });
      const origin = `http://127.0.0.1:${port}`;
      await waitForHttp(`${origin}${productPath(0)}`, (s) => s === 200, {
        since: api.startedAt,
        timeoutMs: limits.startTimeoutMs,
        alive: alive(api, productsNode),
      });
      await readLoad(
        scenario,
        `shop, gateway → products node over AMQP, ${cacher === "none" ? "uncached" : "cached"} (CACHER=${cacher})`,
        origin,
        { api: [api.pid], products: [productsNode.pid] },
        ["postgres", "rabbitmq"],
      );
      await stop(api, productsNode);
    }

    // --- the monolith's checkout ------------------------------------------------------------
    if (want("checkout")) {
      const m = await startMonolith();
      const productId = ids[0]!;
      const tokens = Array.from({ length: 20 }, () =>
        jwt.sign({ sub: randomUUID(), sid: randomUUID() }, secret, {
          algorithm: "HS256",
          issuer: "bench-monolith",
          audience: "bench-monolith",
          expiresIn: "1h",
        }),
      );
      const body = JSON.stringify({ items: [{ productId, quantity: 1 }], shippingAddress: SHIPPING });
      const runner = loadRunner(async (i, signal) => {
        const res = await fetch(`${m.origin}/api/orders`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${tokens[i % tokens.length]}` },
          body,
          signal,
        });
        await res.arrayBuffer();
        return res.status;
      }, 15_000);
      progress("monolith checkout: warm-up");
      await runner.warmup(100, 3_000);
      for (const inFlight of limits.checkoutInFlight) {
        progress(`monolith checkout: ${inFlight} in flight for ${limits.checkoutSeconds} s`);
        await mark("monolith", `checkout@${inFlight} start`, [m.child.pid]);
        const measured = await withCpu({ server: [m.child.pid] }, ["postgres"], () =>
          runner.throughput(inFlight, 1_000_000, limits.checkoutSeconds * 1000),
        );
        await mark("monolith", `checkout@${inFlight} end`, [m.child.pid], { requests: measured.ok });
        rows.push({
          scenario: "checkout",
          label: `monolith checkout (Fastify + Sequelize) @${inFlight}`,
          concurrency: inFlight,
          ...measured,
        });
      }
      const orders = runner.statuses["201"] ?? 0;
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const actual = Number((await c.query("SELECT stock FROM products WHERE id = $1", [productId])).rows[0].stock);
        const inDb = Number((await c.query("SELECT count(*) AS n FROM orders")).rows[0].n);
        const outbox = Number((await c.query("SELECT count(*) AS n FROM orders_outbox")).rows[0].n);
        monolithStock = {
          initial: INITIAL_STOCK,
          orders,
          expected: INITIAL_STOCK - orders,
          actual,
          ok: actual === INITIAL_STOCK - orders && inDb === orders && outbox === orders,
        };
      } finally {
        await c.end();
      }
    }
    if (monolith) await stop(monolith.child);

    // --- start-up of the embedded default ----------------------------------------------------
    if (want("startup")) {
      const dir = path.join(tmp, "embedded");
      await mkdir(dir);
      // Nothing configured: SQLite, generated secrets, files and mails under ./data.
      const bare: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "warn" };
      for (const first of [true, false]) {
        const port = await freePort();
        const node = started(startChild("embedded default", SERVER_ARGS, profiledEnv("startup", { ...bare, PORT: String(port) }), dir));
        progress(`embedded default (SQLite): ${first ? "first start (migrates)" : "second start"}`);
        const readySeconds = await waitForHttp(`http://127.0.0.1:${port}/api/health/ready`, readyOk, {
          since: node.startedAt,
          timeoutMs: limits.startTimeoutMs,
          alive: alive(node),
        });
        await sleep(limits.idleSeconds * 1000);
        startup.push({
          role: first ? "embedded default (SQLite), first start: migrates" : "embedded default (SQLite, nothing configured)",
          readySeconds,
          rssMB: mb(rssBytes(node.pid)),
        });
        await stop(node);
      }
    }

    return { limits, scenarios, rows, startup, monolithStock };
  } finally {
    await cleanup();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

function readyOk(status: number, body: string): boolean {
  if (status !== 200) return false;
  try {
    return (JSON.parse(body) as { status?: string }).status === "ok";
  } catch {
    return false;
  }
}

type Measured = { requests: number; ok: number; perSec: number; p50: number; p99: number; statuses: Statuses };

/** Runs `load` between two CPU samples of `pids` and `programs`; the CPU per successful request. */
async function withCpu(
  pids: Record<string, number[]>,
  programs: Program[],
  load: () => Promise<Measured>,
): Promise<Omit<LoadRow, "scenario" | "label" | "concurrency">> {
  const wanted = Object.fromEntries(programs.map((p) => [p, [...PROGRAMS[p]]]));
  const before = sampleCpu(pids, wanted);
  const m = await load();
  const after = sampleCpu(pids, wanted);
  let cpuMs: Record<string, number> | null = null;
  let cpuMsPerRequest: number | null = null;
  let otherPct: number | null = null;
  let benchPct: number | null = null;
  if (before && after && m.ok > 0) {
    const spent = cpuSeconds(before, after);
    cpuMs = {};
    for (const group of [...Object.keys(pids), ...programs]) cpuMs[group] = ((spent[group] ?? 0) * 1000) / m.ok;
    cpuMsPerRequest = Object.values(cpuMs).reduce((a, b) => a + b, 0);
    const shares = cpuShares(before, after);
    otherPct = shares.other ?? null;
    benchPct = shares.bench ?? null;
  }
  return {
    requests: m.requests,
    ok: m.ok,
    perSec: m.perSec,
    p50: m.p50,
    p99: m.p99,
    statuses: m.statuses,
    failures: failuresOf(m.statuses),
    cpuMsPerRequest,
    cpuMs,
    otherPct,
    benchPct,
  };
}
