/**
 * Checkout throughput through the real cluster: the nodes of scripts/support/cluster.ts as processes
 * (a gateway, users, products ×2, orders ×2, mail) over RabbitMQ on a fresh PostgreSQL
 * database, driven over HTTP with keep-alive like a client. Measured in the same run:
 *
 *   GET  /api/products/:id      cached read: the baseline every ratio is against
 *   GET  /api/products?page=N   uncached read (N changes on every request, so no cache hit)
 *   POST /api/orders            checkout of one unit, a bearer token of one of the shoppers
 *
 * each with sequential latency and throughput at several levels of requests in flight.
 * Afterwards the product's stock must equal the initial stock minus the successful orders.
 * Bounded in count and time; the nodes are stopped, the database is dropped and the
 * namespace's exchanges and queues are deleted even when something fails.
 */
import { freePort } from "../scripts/support/free-port.ts";
import os from "node:os";
import path from "node:path";
import { mkdtemp, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { randomBytes, randomUUID } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import amqp from "amqplib";
import pg from "pg";
import { ServiceBroker } from "moleculer";
import { LOCAL_CLUSTER, localClusterEnv, spawnNode, type NodeSpec } from "../scripts/support/cluster.ts";
import { loadConfig, type Config } from "../lib/config.ts";
import { deleteShopTopology } from "../integrations/messaging/durable-events.ts";
import type { Principal } from "../lib/access.ts";
import { migrateUp } from "../integrations/database/migrator.ts";
import { amqpTransporter, brokerOptions } from "../moleculer.config.ts";
import { deleteNamespace } from "./amqp-cleanup.ts";
import { loadRunner, failuresOf, type PhaseResult, type Probe, type Statuses } from "./http-load.ts";
import { sampleCpu, cpuShares, rssBytes, type CpuSample } from "./cpu.ts";
import { mark, profiledEnv } from "./profiling.ts";
import { percentiles, type Percentiles } from "./stats.ts";
import { startChild, type Child } from "./processes.ts";
import { HELD_RESERVATION_STATUSES } from "../domain/reconciliation.ts";
import { createScratchDatabase, type ScratchDatabase } from "../scripts/support/scratch-database.ts";

export interface CheckoutLimits {
  /** Shoppers registered and signed in; checkouts rotate over their tokens. */
  shoppers: number;
  /** Sequential requests before measuring, bounded by `warmupMs`. */
  warmup: number;
  warmupMs: number;
  /** Sequential requests timed one by one, bounded by `sequentialMs`. */
  sequential: number;
  sequentialMs: number;
  /** Levels of requests in flight for the throughput phases. */
  inFlight: number[];
  /** Requests per throughput phase, bounded by `throughputMs`. */
  throughput: number;
  throughputMs: number;
  /** A request without an answer after this long counts as "timeout". */
  requestTimeoutMs: number;
  /** How long the cluster may take to start and become ready. */
  startTimeoutMs: number;
  /** How long to wait for the mail node to work off order confirmations between phases. */
  drainMs: number;
  /** How long the nodes idle once the cluster is ready before their RSS is read. */
  idleMs: number;
}

export const CHECKOUT_LIMITS: { full: CheckoutLimits; quick: CheckoutLimits } = {
  full: {
    shoppers: 20,
    warmup: 100,
    warmupMs: 5_000,
    sequential: 300,
    sequentialMs: 30_000,
    inFlight: [16, 64],
    throughput: 200_000,
    throughputMs: 8_000,
    requestTimeoutMs: 15_000,
    startTimeoutMs: 60_000,
    drainMs: 60_000,
    idleMs: 5_000,
  },
  quick: {
    shoppers: 20,
    warmup: 30,
    warmupMs: 2_000,
    sequential: 100,
    sequentialMs: 8_000,
    inFlight: [16, 64],
    throughput: 50_000,
    throughputMs: 2_000,
    requestTimeoutMs: 15_000,
    startTimeoutMs: 60_000,
    drainMs: 20_000,
    idleMs: 2_000,
  },
};

export interface LoadPhase extends PhaseResult {
  inFlight: number;
  /** Share of the machine's CPU (all cores, in %) per node group and more; null off Linux. */
  cpu: Record<string, number> | null;
  /** CPU time of the cluster (its nodes, PostgreSQL, RabbitMQ) per successful request, in ms; null off Linux. */
  cpuMsPerRequest: number | null;
  /** Order confirmations still queued for the mail node after this phase, and how long they took to go. */
  mailBacklog?: { queued: number; drainedSeconds: number | null };
  /**
   * What the mail node sent (mail_deliveries rows turned `sent`): during the phase, and alone afterwards
   * while it worked off the backlog.
   */
  mail?: MailRate;
  /**
   * Checkout with its confirmation e-mails, from the phase's start until the mail node has
   * worked off what the phase left queued: checkouts per second over that whole time, and the
   * cluster's CPU time over it per checkout (the e-mails a lagging mail node sends after the
   * phase included). Null CPU off Linux; absent when the mail backlog was not worked off.
   */
  withMail?: { perSec: number; cpuMsPerRequest: number | null };
}

export interface MailRate {
  sentDuringPhase: number;
  /** Mails sent per second during the phase, next to the phase's checkouts per second. */
  perSecDuringPhase: number;
  sentWhileDraining: number;
  /** Mails per second while the mail node worked off the backlog alone (null: no backlog to time). */
  perSecDraining: number | null;
}

export interface EndpointRow {
  request: string;
  baseline: boolean;
  warmup: PhaseResult;
  sequential: PhaseResult;
  load: LoadPhase[];
  /** Every status seen over all phases of this request. */
  statuses: Statuses;
  /** Non-2xx answers, timeouts and network errors over all phases. */
  failures: number;
  /** Sequential p50 divided by the baseline's (1 for the baseline). */
  p50VsBaseline: number;
  /** Requests/s divided by the baseline's, per level of `inFlight`. */
  perSecVsBaseline: number[];
}

export interface StockCheck {
  initial: number;
  /** 201 answers to POST /api/orders over every phase. */
  successfulOrders: number;
  expected: number;
  actual: number;
  ordersInDatabase: number;
  reservationsHeld: number;
  ok: boolean;
}

export interface NodeLog {
  /** Log lines at warn level or above (pino levels ≥ 40) and any other output, from the end of set-up on. */
  warnings: number;
  errors: number;
  samples: string[];
}

/** One step of a checkout, called one at a time from a client broker (no HTTP, no gateway). */
export interface StepRow extends Percentiles {
  step: string;
  calls: number;
  failures: number;
}

/** How a node ended after SIGTERM, and what it logged meanwhile. */
export interface NodeShutdown {
  exitCode: number | null;
  signal: string | null;
  log: NodeLog;
}

export interface CheckoutResult {
  limits: CheckoutLimits;
  nodes: string[];
  setupSeconds: number;
  /** From spawning the nodes until the gateway was ready and every replica known. */
  readySeconds: number;
  /** Each node's RSS after idling `idleMs` once the cluster was ready, in MB (10^6 bytes). */
  idleRssMB: Record<string, number | null>;
  rows: EndpointRow[];
  stock: StockCheck;
  steps: StepRow[];
  nodeLogs: Record<string, NodeLog>;
  /** Filled in while the cluster stops, before `checkout` resolves. */
  shutdown: Record<string, NodeShutdown>;
}

export interface CheckoutOptions {
  amqpUrl: string;
  /** A PostgreSQL URL whose server gets the benchmark's own database (created and dropped). */
  pgAdminUrl: string;
  limits: CheckoutLimits;
  progress?: (msg: string) => void;
}

const INITIAL_STOCK = 10_000_000;
const PASSWORD = "correct horse battery staple";
const SHIPPING = { name: "Bench Shopper", line1: "1 Hauptstraße", city: "Berlin", postalCode: "10115", country: "DE" };
/** Pages of the uncached read: 2, 3, … (the one product is on page 1; every page is a cache miss). */
const MAX_PAGE = 100_000;
/** CPU groups that are not the cluster: the mail server (an external relay), the load generator, everything else, idle time. */
const CLUSTER_CPU_EXCLUDES = new Set(["smtp", "bench", "other", "idle"]);
/** The mail server the mail node sends to (bench/servers/smtp-sink.ts). */
const SMTP_SINK = path.join(path.dirname(fileURLToPath(import.meta.url)), "servers", "smtp-sink.ts");

/** The cluster's CPU time (its nodes, PostgreSQL, RabbitMQ) between two samples per request, in ms; null without both samples. */
function clusterCpuMsPerRequest(from: CpuSample | null, to: CpuSample | null, requests: number): number | null {
  if (!from || !to || requests <= 0) return null;
  const share = Object.entries(cpuShares(from, to)).reduce((sum, [group, s]) => sum + (CLUSTER_CPU_EXCLUDES.has(group) ? 0 : s), 0);
  return ((share / 100) * (to.total - from.total) * 1000) / requests;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON in, status and parsed JSON out (for setting up; the measured requests use `Probe`s). */
async function httpJson(
  url: string,
  method = "GET",
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method,
    headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: text ? JSON.parse(text) : null };
  } catch {
    return { status: res.status, body: text };
  }
}

const redactUrl = (url: string) => url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");

interface RunningNode {
  spec: NodeSpec;
  child: ChildProcess;
  /** Resolves once the process has exited and its output has been read to the end. */
  closed: Promise<void>;
  tail: string;
  log: NodeLog;
}

/** Keeps the end of a node's output and counts its warnings and errors. */
function watchOutput(node: RunningNode): void {
  const onData = (stream: { partial: string }) => (chunk: Buffer) => {
    const text = String(chunk);
    node.tail = (node.tail + text).slice(-8_000);
    const lines = (stream.partial + text).split("\n");
    stream.partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      let level = 40; // not JSON (a Node warning, a stack trace): counts as a warning
      try {
        const parsed = JSON.parse(line) as { level?: number };
        if (typeof parsed.level === "number") level = parsed.level;
      } catch {
        /* keep 40 */
      }
      if (level < 40) continue;
      if (level >= 50) node.log.errors++;
      else node.log.warnings++;
      if (node.log.samples.length < 8) node.log.samples.push(line.slice(0, 500));
    }
  };
  node.child.stdout!.on("data", onData({ partial: "" }));
  node.child.stderr!.on("data", onData({ partial: "" }));
}

export async function checkout(opts: CheckoutOptions): Promise<CheckoutResult> {
  const { amqpUrl, limits } = opts;
  const progress = opts.progress ?? (() => {});
  const run = randomBytes(4).toString("hex");
  const namespace = `bench-checkout-${run}`;
  const dbName = `shop_bench_checkout_${run}`;
  const clientID = `bench-client-${process.pid}`;
  // Every node of the local topology: the gateway is not ready until each routed service is.
  const specs: NodeSpec[] = [...LOCAL_CLUSTER];
  const nodes: RunningNode[] = [];
  let client: ServiceBroker | undefined;
  let amqpConn: amqp.ChannelModel | undefined;
  let tmpDir: string | undefined;
  let smtp: Child | undefined;
  let db: ScratchDatabase | undefined;
  let dbClient: pg.Client | undefined;
  const shutdown: Record<string, NodeShutdown> = {};

  // Clean-up runs once, after success, failure or Ctrl-C.
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      const problems: string[] = [];
      const step = async (what: string, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (err) {
          problems.push(`${what}: ${(err as Error).message}`);
        }
      };
      progress("stopping the cluster and cleaning up");
      await step("closing the AMQP connection", async () => amqpConn?.close());
      await step("closing the database connection", async () => dbClient?.end());
      await step("stopping the client broker", async () => client && withTimeout(client.stop(), 10_000, "Stopping the client broker"));
      // What the nodes say from here on belongs to their shutdown, not to the measurement.
      for (const n of nodes) {
        n.log = { warnings: 0, errors: 0, samples: [] };
        n.child.kill("SIGTERM");
      }
      await step("stopping the nodes", () =>
        Promise.all(
          nodes.map(async (n) => {
            const done = n.closed;
            // Graceful stop waits for requests in flight (10 s at most); then no more waiting.
            try {
              await withTimeout(done, 20_000, `${n.spec.id} stopping`);
            } catch {
              n.child.kill("SIGKILL");
              await done;
              throw new Error(`${n.spec.id} did not stop within 20 s and was killed`);
            } finally {
              shutdown[n.spec.id] = { exitCode: n.child.exitCode, signal: n.child.signalCode, log: n.log };
            }
            if (n.child.exitCode !== 0)
              progress(`${n.spec.id} exited with ${n.child.exitCode ?? n.child.signalCode}; its last output:\n${n.tail.slice(-1_500)}`);
          }),
        ),
      );
      await step("deleting the namespace's exchanges and queues", async () => {
        await deleteNamespace(amqpUrl, namespace, [...specs.map((s) => s.id), clientID]);
        await deleteDurableTopology(amqpUrl, namespace);
      });
      if (smtp) await step("stopping the mail server", () => smtp!.stop());
      if (db) await step(`dropping database ${dbName}`, () => db!.drop());
      if (tmpDir) await step("removing the file storage", () => rm(tmpDir!, { recursive: true, force: true }));
      for (const p of problems) progress(`clean-up problem: ${p}`);
    })());

  // Ctrl-C or a kill: clean up first, then leave.
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: cleaning up before exiting`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const setupStart = performance.now();
  try {
    // --- database ---------------------------------------------------------------------
    progress(`creating database ${dbName} and migrating it`);
    db = await createScratchDatabase(opts.pgAdminUrl, dbName);
    const dbUrl = db.url;
    await migrateUp(loadConfig({ DATABASE_URL: dbUrl }).database);

    // --- cluster ----------------------------------------------------------------------
    const port = await freePort();
    const api = `http://127.0.0.1:${port}/api`;
    tmpDir = await mkdtemp(path.join(os.tmpdir(), "shop-bench-"));
    const smtpPort = await freePort();
    smtp = startChild("smtp sink", [SMTP_SINK], { ...process.env, PORT: String(smtpPort) });
    await smtp.line(/^ready$/, 10_000);
    const env = localClusterEnv(
      { namespace, transporter: amqpUrl, databaseUrl: dbUrl },
      {
        NODE_ENV: "production",
        JWT_SECRET: randomBytes(48).toString("base64url"),
        SECRETS_KEY: randomBytes(48).toString("base64url"),
        RATE_LIMIT_STORE: "memory",
        RATE_LIMIT_FACTOR: "10000",
        PORT: String(port),
        HOST: "127.0.0.1",
        APP_URL: `http://127.0.0.1:${port}`,
        // Confirmation e-mails go over SMTP (pooled, as in production) to a server that keeps nothing.
        // Each pooled connection carries one message at a time, so the pool's size bounds the mail
        // rate: 20 connections, as a relay for a shop at hundreds of orders a second would allow
        // (nodemailer's default of 5 sent 0.84x the checkouts @16 and 0.45-0.53x @64).
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}?maxConnections=20`,
        STORAGE_DIR: path.join(tmpDir, "files"),
      },
    );
    progress(`starting ${specs.length} nodes (${specs.map((s) => s.id).join(", ")}), namespace ${namespace}`);
    const spawnedAt = performance.now();
    for (const spec of specs) {
      const child = spawnNode(spec, profiledEnv("checkout", env));
      const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
      const node: RunningNode = { spec, child, closed, tail: "", log: { warnings: 0, errors: 0, samples: [] } };
      watchOutput(node);
      nodes.push(node);
    }
    const failFast = () => {
      const dead = nodes.find((n) => n.child.exitCode !== null || n.child.signalCode !== null);
      if (dead)
        throw new Error(
          `node ${dead.spec.id} exited (${dead.child.exitCode ?? dead.child.signalCode}) while starting:\n${dead.tail.slice(-2_000)}`,
        );
    };

    // The nodes' heartbeat settings: with moleculer's defaults (a heartbeat every 10 s) the nodes,
    // which expect one within 6 s, took the client for dead every few seconds (warnings in their logs).
    const { heartbeatInterval, heartbeatTimeout } = brokerOptions(loadConfig({ DATABASE_URL: dbUrl }));
    client = new ServiceBroker({
      namespace,
      nodeID: clientID,
      transporter: amqpTransporter(amqpUrl, 100),
      logger: false,
      requestTimeout: 30_000,
      heartbeatInterval,
      heartbeatTimeout,
      skipProcessEventRegistration: true,
    });
    await withTimeout(client.start(), limits.startTimeoutMs, `Connecting to ${redactUrl(amqpUrl)}`);

    const deadline = performance.now() + limits.startTimeoutMs;
    for (;;) {
      failFast();
      const ready = await httpJson(`${api}/health/ready`).catch((err: Error) => ({ status: 0, body: err.message }));
      if (ready.status === 200 && (ready.body as { status?: string })?.status === "ok") break;
      if (performance.now() > deadline)
        throw new Error(`the gateway was not ready after ${limits.startTimeoutMs} ms: ${JSON.stringify(ready.body)}`);
      await sleep(50);
    }
    // Ready means each service is reachable; wait for every replica too, so the load is shared from the start.
    const expected = new Map<string, number>();
    for (const s of specs) for (const name of s.services.split(",")) if (name !== "api") expected.set(name, (expected.get(name) ?? 0) + 1);
    for (;;) {
      failFast();
      const list = client.registry.getServiceList({ onlyAvailable: true }) as { name: string }[];
      const missing = [...expected].filter(([name, n]) => list.filter((s) => s.name === name).length < n);
      if (missing.length === 0) break;
      if (performance.now() > deadline)
        throw new Error(`replicas missing after ${limits.startTimeoutMs} ms: ${missing.map(([n]) => n).join(", ")}`);
      await sleep(50);
    }
    const readySeconds = (performance.now() - spawnedAt) / 1000;
    progress(`cluster ready after ${readySeconds.toFixed(1)} s; idling ${limits.idleMs / 1000} s before reading each node's RSS`);
    await sleep(limits.idleMs);
    const idleRssMB = Object.fromEntries(nodes.map((n) => [n.spec.id, ((b) => (b === null ? null : b / 1e6))(rssBytes(n.child.pid!))]));

    // --- seed -------------------------------------------------------------------------
    progress("seeding: a superuser, one product, shoppers");
    const superuser = await client.call<{ id: string }, object>("users.createSuperuser", {
      email: `bench-admin-${run}@example.com`,
      password: PASSWORD,
      name: "Bench admin",
    });
    const product = await client.call<{ id: string }, object>(
      "products.create",
      { sku: `BENCH-${run}`.toUpperCase(), name: "Benchmark mug", priceCents: 1200, currency: "EUR", stock: INITIAL_STOCK },
      { meta: { user: { id: superuser.id, role: "admin" } } },
    );
    const shoppers = await Promise.all(
      Array.from({ length: limits.shoppers }, async (_, i) => {
        const email = `bench-shopper-${i}-${run}@example.com`;
        const reg = await httpJson(`${api}/auth/register`, "POST", { email, password: PASSWORD, name: `Shopper ${i}` });
        if (reg.status !== 201) throw new Error(`registering a shopper: ${reg.status} ${JSON.stringify(reg.body)}`);
        const login = await httpJson(`${api}/auth/login`, "POST", { email, password: PASSWORD });
        if (login.status !== 200 || typeof login.body?.accessToken !== "string")
          throw new Error(`signing in: ${login.status} ${JSON.stringify(login.body)}`);
        return { id: reg.body.id as string, token: login.body.accessToken as string };
      }),
    );
    const tokens = shoppers.map((s) => s.token);
    const setupSeconds = (performance.now() - setupStart) / 1000;
    // From here on, a warning or an error in a node's log happened under measurement.
    for (const n of nodes) n.log = { warnings: 0, errors: 0, samples: [] };

    // --- measure ----------------------------------------------------------------------
    amqpConn = await amqp.connect(amqpUrl);
    const channel = await amqpConn.createChannel();
    channel.on("error", () => {}); // a missing queue closes the channel; checked below
    const mailQueue = `${namespace}.mail`;
    const mailQueued = async () => (await channel.checkQueue(mailQueue)).messageCount;
    /**
     * Waits until the mail node has taken every queued confirmation, or `drainMs` passed.
     * Undefined when the queue cannot be inspected (the measurement goes on without it).
     */
    const drainMail = async (): Promise<{ queued: number; drainedSeconds: number | null } | undefined> => {
      try {
        const start = performance.now();
        const queued = await mailQueued();
        let left = queued;
        while (left > 0 && performance.now() - start < limits.drainMs) {
          await sleep(200);
          left = await mailQueued();
        }
        return { queued, drainedSeconds: left === 0 ? (performance.now() - start) / 1000 : null };
      } catch (err) {
        progress(`cannot inspect the mail queue ${mailQueue}: ${(err as Error).message}`);
        return undefined;
      }
    };

    const pids: Record<string, number[]> = {};
    for (const n of nodes) {
      const group = n.spec.services.replace(/,/g, "+");
      (pids[group] ??= []).push(n.child.pid!);
    }
    pids.smtp = [smtp.pid];
    const cpuNow = (): CpuSample | null => sampleCpu(pids, { postgres: ["postgres"], rabbitmq: ["beam.smp"] });
    const allPids = nodes.map((n) => n.child.pid!);
    /** Confirmation mails the mail node has sent so far (its delivery log). */
    const mailsSent = async () =>
      Number((await dbClient!.query("SELECT count(*) AS n FROM mail_deliveries WHERE status = 'sent'")).rows[0].n);
    dbClient = new pg.Client({ connectionString: dbUrl });
    await dbClient.connect();

    const read = async (url: string, signal: AbortSignal, headers?: Record<string, string>, init?: RequestInit) => {
      const res = await fetch(url, { ...init, headers, signal });
      await res.arrayBuffer(); // read the whole body: the connection goes back to the pool
      return res.status;
    };
    const checkoutBody = JSON.stringify({ items: [{ productId: product.id, quantity: 1 }], shippingAddress: SHIPPING });
    const requests: { request: string; baseline: boolean; probe: Probe; mail: boolean }[] = [
      {
        request: "GET /api/products/:id (cached)",
        baseline: true,
        probe: (_i, signal) => read(`${api}/products/${product.id}`, signal),
        mail: false,
      },
      {
        request: "GET /api/products?page=N (uncached)",
        baseline: false,
        probe: (i, signal) => read(`${api}/products?page=${2 + (i % (MAX_PAGE - 1))}`, signal),
        mail: false,
      },
      {
        request: "POST /api/orders (checkout)",
        baseline: false,
        probe: (i, signal) =>
          read(
            `${api}/orders`,
            signal,
            { "content-type": "application/json", authorization: `Bearer ${tokens[i % tokens.length]}` },
            { method: "POST", body: checkoutBody },
          ),
        mail: true,
      },
    ];

    const measured: Omit<EndpointRow, "p50VsBaseline" | "perSecVsBaseline">[] = [];
    let successfulOrders = 0;
    for (const { request, baseline, probe, mail } of requests) {
      const runner = loadRunner(probe, limits.requestTimeoutMs);
      progress(`${request}: warm-up`);
      const warmup = await runner.warmup(limits.warmup, limits.warmupMs);
      progress(`${request}: ${limits.sequential} sequential`);
      const sequential = await runner.sequential(limits.sequential, limits.sequentialMs);
      const load: LoadPhase[] = [];
      // The warm-up's and sequential phase's mails would otherwise compete with the first phase.
      if (mail) await drainMail();
      const label = request
        .replace(/ \(.*\)$/, "")
        .replace(/^\w+ \/api\//, "")
        .replace(/[^\w]+/g, "-");
      for (const inFlight of limits.inFlight) {
        progress(`${request}: ${inFlight} in flight for up to ${limits.throughputMs / 1000} s`);
        await mark("checkout", `${label}@${inFlight} start`, allPids);
        const sentBefore = mail ? await mailsSent() : 0;
        const before = cpuNow();
        const phase = await runner.throughput(inFlight, limits.throughput, limits.throughputMs);
        const after = cpuNow();
        await mark("checkout", `${label}@${inFlight} end`, allPids, { requests: phase.ok });
        const cpu = before && after ? cpuShares(before, after) : null;
        const row: LoadPhase = { ...phase, inFlight, cpu, cpuMsPerRequest: clusterCpuMsPerRequest(before, after, phase.ok) };
        if (mail) {
          // Confirmation mails of this phase would otherwise compete with the next one.
          const sentAfter = await mailsSent();
          row.mailBacklog = await drainMail();
          const drainedCpu = cpuNow();
          const sentWhileDraining = (await mailsSent()) - sentAfter;
          const drained = row.mailBacklog?.drainedSeconds;
          if (drained !== null && drained !== undefined && phase.ok > 0) {
            row.withMail = {
              perSec: phase.ok / (phase.seconds + drained),
              cpuMsPerRequest: clusterCpuMsPerRequest(before, drainedCpu, phase.ok),
            };
          }
          row.mail = {
            sentDuringPhase: sentAfter - sentBefore,
            perSecDuringPhase: (sentAfter - sentBefore) / phase.seconds,
            sentWhileDraining,
            perSecDraining: drained && sentWhileDraining > 0 ? sentWhileDraining / drained : null,
          };
        }
        load.push(row);
      }
      if (mail) successfulOrders += runner.statuses["201"] ?? 0;
      measured.push({
        request,
        baseline,
        warmup,
        sequential,
        load,
        statuses: { ...runner.statuses },
        failures: failuresOf(runner.statuses),
      });
    }
    const base = measured.find((r) => r.baseline)!;
    const rows: EndpointRow[] = measured.map((r) => ({
      ...r,
      p50VsBaseline: r.sequential.p50 / base.sequential.p50,
      perSecVsBaseline: r.load.map((l, i) => l.perSec / base.load[i]!.perSec),
    }));

    // --- correctness ------------------------------------------------------------------
    progress("checking the stock against the successful orders");
    const stock = await (async (): Promise<StockCheck> => {
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      try {
        const actual = Number((await c.query("SELECT stock FROM products WHERE id = $1", [product.id])).rows[0].stock);
        const ordersInDatabase = Number((await c.query("SELECT count(*) AS n FROM orders")).rows[0].n);
        const reservationsHeld = Number(
          (await c.query("SELECT count(*) AS n FROM stock_reservations WHERE status = ANY($1)", [[...HELD_RESERVATION_STATUSES]])).rows[0]
            .n,
        );
        const expectedStock = INITIAL_STOCK - successfulOrders;
        return {
          initial: INITIAL_STOCK,
          successfulOrders,
          expected: expectedStock,
          actual,
          ordersInDatabase,
          reservationsHeld,
          ok: actual === expectedStock && ordersInDatabase === successfulOrders && reservationsHeld === successfulOrders,
        };
      } finally {
        await c.end();
      }
    })();

    // --- where a checkout's time goes --------------------------------------------------
    // The calls a checkout makes (orders.create calls products.reserve, which answers the snapshot).
    const claimsOf = (token: string) => {
      const { sub, sid } = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { sub: string; sid: string };
      return { sub, sid };
    };
    // After the stock check: these calls take stock and create orders of their own.
    progress("timing the steps of a checkout one by one from a client broker");
    const principal = await client.call<Principal, object>("users.authenticate", { scheme: "bearer", credentials: tokens[0]! });
    const order = { items: [{ productId: product.id, quantity: 1 }], shippingAddress: SHIPPING };
    const c = client;
    const steps: [string, (i: number) => Promise<unknown>][] = [
      ["$node.options on products-1 (a bare AMQP round trip)", () => c.call("$node.options", {}, { nodeID: "products-1" })],
      // The gateway verifies tokens itself and asks users.principal on a cache miss only;
      // users.authenticate is what a gateway without the verification key calls on every request.
      ["users.principal (the gateway's call on a cache miss)", (i) => c.call("users.principal", claimsOf(tokens[i % tokens.length]!))],
      [
        "users.authenticate (bearer token; a gateway without the key)",
        (i) => c.call("users.authenticate", { scheme: "bearer", credentials: tokens[i % tokens.length]! }),
      ],
      [
        "products.reserve (then an untimed release)",
        async () => {
          const reservationId = randomUUID();
          await c.call("products.reserve", { reservationId, items: order.items });
          return reservationId;
        },
      ],
      ["orders.create (all of checkout but HTTP and authentication)", () => c.call("orders.create", order, { meta: { user: principal } })],
    ];
    const stepRows: StepRow[] = [];
    const stepCount = Math.min(limits.sequential, 200);
    for (const [step, call] of steps) {
      const latencies: number[] = [];
      let failures = 0;
      let calls = 0;
      const stepDeadline = performance.now() + limits.sequentialMs / 2;
      for (let i = 0; i < stepCount + 10 && performance.now() < stepDeadline; i++) {
        const start = performance.now();
        try {
          const result = await call(i);
          const ms = performance.now() - start;
          if (i >= 10) latencies.push(ms); // the first ten warm up
          if (step.startsWith("products.reserve")) await c.call("products.release", { reservationId: result as string });
        } catch {
          failures++;
        }
        calls++;
      }
      stepRows.push({ step, calls, failures, ...percentiles(latencies) });
    }

    return {
      limits,
      nodes: specs.map((s) => s.id),
      setupSeconds,
      readySeconds,
      idleRssMB,
      rows,
      stock,
      steps: stepRows,
      nodeLogs: Object.fromEntries(nodes.map((n) => [n.spec.id, n.log])),
      shutdown,
    };
  } catch (err) {
    // The nodes' own words are the first thing to read.
    for (const n of nodes) if (n.tail.trim()) progress(`--- output of ${n.spec.id} (last lines)\n${n.tail.slice(-1_200)}`);
    throw err;
  } finally {
    await cleanup();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

/** The durable-events topology of a namespace: the exchange and every consumer group's queues. */
export async function deleteDurableTopology(url: string, namespace: string): Promise<void> {
  let config: Pick<Config, "mail"> = { mail: { maxAttempts: 5, retryBaseMs: 1000 } as Config["mail"] };
  try {
    config = loadConfig(process.env); // the nodes got the same MAIL_MAX_ATTEMPTS
  } catch {
    /* an environment the nodes refused too: the defaults */
  }
  await deleteShopTopology(url, namespace, config);
}
