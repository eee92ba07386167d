/**
 * A shop cluster as real processes for fault tests (the nodes of scripts/support/cluster.ts, or some of
 * them), on a given TRANSPORTER (one RabbitMQ URL or a `;`-separated list), its own PostgreSQL
 * database and namespace and a real SMTP server; a client broker on the same transporter
 * seeds what needs an admin. Plus load generators that count every response by status and
 * keep when each finished, so a test can say how long an outage lasted for clients.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { freePort } from "../../scripts/support/free-port.ts";
import { LOCAL_CLUSTER, localClusterEnv, spawnCaptured, exited, type CapturedNode, type NodeSpec } from "../../scripts/support/cluster.ts";
import { loadConfig } from "../../lib/config.ts";
import { migrateUp } from "../../integrations/database/migrator.ts";
import { deleteShopTopology } from "../../integrations/messaging/durable-events.ts";
import { until } from "../../scripts/support/until.ts";
import { amqpTransporter } from "../../moleculer.config.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";
import { startSmtp, type TestSmtp } from "./smtp.ts";
import { http } from "./node.ts";
import { shopClient, as, ADDRESS, type ShopClient } from "./shop-client.ts";

export const ADMIN = { meta: { user: { id: randomUUID(), role: "admin" } } };

export interface ShopCluster {
  namespace: string;
  api: string;
  db: TestDatabase;
  smtp: TestSmtp;
  client: ServiceBroker;
  /** The shop client (test/support/shop-client.ts) on this cluster's gateway; superusers through `client`. */
  rest: ShopClient;
  nodes: Map<string, CapturedNode>;
  env: NodeJS.ProcessEnv;
  start(spec: NodeSpec): CapturedNode;
  /** Every node's recent output (to print when a test fails). */
  output(): string;
  stop(): Promise<void>;
}

export async function startShopCluster(
  label: string,
  transporter: string,
  { nodes = LOCAL_CLUSTER, extraEnv = {} }: { nodes?: readonly NodeSpec[]; extraEnv?: NodeJS.ProcessEnv } = {},
): Promise<ShopCluster> {
  const namespace = `${label}-${randomBytes(4).toString("hex")}`;
  const db = await createTestDatabase(label);
  await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
  const smtp = await startSmtp();
  const port = await freePort();
  const api = `http://127.0.0.1:${port}/api`;
  const env = localClusterEnv(
    { namespace, transporter, databaseUrl: db.url },
    {
      RATE_LIMIT_FACTOR: "1000",
      SMTP_URL: smtp.url,
      MAIL_RETRY_BASE_MS: "200",
      PORT: String(port),
      HOST: "127.0.0.1",
      OUTBOX_POLL_MS: "500",
      ...extraEnv,
    },
  );
  const running = new Map<string, CapturedNode>();
  const start = (spec: NodeSpec) => {
    const node = spawnCaptured(spec, env);
    running.set(spec.id, node);
    return node;
  };
  for (const spec of nodes) start(spec);
  const nodeID = `${label}-client-${process.pid}`;
  const client = new ServiceBroker({ namespace, nodeID, transporter: amqpTransporter(transporter, 100), logger: false });
  const cluster: ShopCluster = {
    namespace,
    api,
    db,
    smtp,
    client,
    rest: shopClient({ api, broker: client }),
    nodes: running,
    env,
    start,
    output: () => [...running].map(([id, { output }]) => `--- ${id}\n${output.join("").slice(-3000)}`).join("\n"),
    async stop() {
      await client.stop().catch(() => undefined);
      for (const { child } of running.values()) child.kill("SIGTERM");
      await Promise.all(
        [...running.values()].map(async ({ child }) => {
          const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
          await exited(child);
          clearTimeout(timer);
        }),
      );
      await deleteShopTopology(transporter, namespace, loadConfig(env)).catch(() => undefined);
      await smtp.close();
      await db.drop();
    },
  };
  try {
    await client.start();
    const ready = async () => (await http(`${api}/health/ready`)).status === 200;
    await until("the gateway to be ready", ready, { timeoutMs: 60_000, intervalMs: 250 });
  } catch (err) {
    console.log(cluster.output());
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** One response of a load generator: its status and when it finished (ms since the epoch), and how long it took. */
export interface Sample {
  status: number;
  at: number;
  ms: number;
  body?: unknown;
}

export function countByStatus(samples: Sample[]): Record<number, number> {
  return samples.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s.status]: (acc[s.status] ?? 0) + 1 }), {});
}

/**
 * `concurrency` clients each sending `request()` in a loop until `stop()` (status 0: the
 * request itself failed, e.g. connection refused). Resolves with every sample once stopped.
 */
export function loop(concurrency: number, request: (worker: number, i: number) => Promise<{ status: number; body?: unknown }>) {
  const samples: Sample[] = [];
  let running = true;
  const workers = Array.from({ length: concurrency }, async (_, w) => {
    for (let i = 0; running; i++) {
      const t0 = Date.now();
      const res = await request(w, i).catch((err: Error) => ({ status: 0, body: err.message }));
      const failed = res.status !== 200 && res.status !== 201;
      samples.push({ status: res.status, at: Date.now(), ms: Date.now() - t0, ...(failed ? { body: res.body } : {}) });
    }
  });
  return {
    samples,
    async stop() {
      running = false;
      await Promise.all(workers);
      return samples;
    },
  };
}

/**
 * Place an order with an Idempotency-Key, and as a careful client would, retry it with the same key while the shop answers
 * 502/503/504 (or 409 in flight), a quarter of a second apart: the client's own back-off, which is what the test exercises.
 */
export async function checkoutWithRetries(
  api: string,
  token: string,
  productId: string,
  deadlineMs = 60_000,
): Promise<{ status: number; body: any; attempts: number; failures: number[] }> {
  const key = randomUUID();
  const failures: number[] = [];
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    const res = await http(`${api}/orders`, {
      method: "POST",
      headers: as(token, { "idempotency-key": key }),
      json: { items: [{ productId, quantity: 1 }], shippingAddress: ADDRESS },
    }).catch((err: Error) => ({ status: 0, body: err.message, headers: new Headers() }));
    // 409 IDEMPOTENCY_IN_FLIGHT: the first attempt with this key is still running (it outlived the client's wait).
    const inFlight = res.status === 409 && (res.body as { type?: string } | null)?.type === "IDEMPOTENCY_IN_FLIGHT";
    const retry = ([0, 502, 503, 504].includes(res.status) || inFlight) && Date.now() <= deadline;
    if (!retry) return { status: res.status, body: res.body, attempts: attempt, failures };
    failures.push(res.status);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * After a fault at `faultAt`: how long until requests succeeded for good (the finish time of the
 * last failed sample after the fault, minus `faultAt`; 0 when none failed).
 */
export function recoveryMs(samples: Sample[], faultAt: number, ok = (s: Sample) => s.status === 200 || s.status === 201): number {
  const lastFailure = samples.filter((s) => s.at >= faultAt && !ok(s)).reduce((max, s) => Math.max(max, s.at), 0);
  return lastFailure ? lastFailure - faultAt : 0;
}
