/**
 * An in-process node for integration tests: the real service schemas on a real broker,
 * configured through the same environment variables as production. Call it before any
 * other import of the project's modules in a test file (the config is read once).
 */
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import type { Config } from "../../lib/config.ts";
import { until } from "../../scripts/support/until.ts";

export interface TestNode {
  broker: ServiceBroker;
  config: Config;
  /** http://127.0.0.1:<port>/api when the node runs the gateway. */
  api: string;
  stop(): Promise<void>;
}

export async function startTestNode(env: Record<string, string>): Promise<TestNode> {
  Object.assign(process.env, { PORT: "0", HOST: "127.0.0.1", METRICS: "false", ...env });
  const { getConfig } = await import("../../lib/config.ts");
  const { createBroker } = await import("../../broker.ts");
  const config = getConfig();
  const broker = await createBroker(config, { logger: false });
  await broker.start();
  const gateway = config.services.includes("api")
    ? (broker.getLocalService("api") as unknown as { server: { address(): AddressInfo } })
    : null;
  const api = gateway ? `http://127.0.0.1:${gateway.server.address().port}/api` : "";
  // A node without mail or storage is only ever "degraded".
  const everything = ["users", "products", "orders", "mail", "storage"].every((s) => config.services.includes(s as never));
  if (api) await waitUntilReady(api, 20_000, { degraded: !everything });
  return { broker, config, api, stop: () => broker.stop() };
}

/**
 * A whole shop for one suite: its own PostgreSQL database, migrated, and an in-process node
 * running every service (unless `env` says otherwise). `stop` stops the node and drops the database.
 */
export async function startTestShop(label: string, env: Record<string, string> = {}): Promise<TestNode & { databaseUrl: string }> {
  const { createTestDatabase } = await import("./database.ts");
  const { migrateUp } = await import("../../integrations/database/migrator.ts");
  const { loadConfig } = await import("../../lib/config.ts");
  const db = await createTestDatabase(label);
  try {
    await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
    const node = await startTestNode({ DATABASE_URL: db.url, SERVICES: "all", ...env });
    return {
      ...node,
      databaseUrl: db.url,
      stop: async () => {
        await node.stop();
        await db.drop();
      },
    };
  } catch (err) {
    await db.drop();
    throw err;
  }
}

/**
 * Poll GET /health/ready until every service is ok (routes generated, databases reachable), or,
 * with `degraded`, until the gateway is ready at all (its critical services are ok).
 */
export async function waitUntilReady(api: string, timeoutMs = 20_000, { degraded = false } = {}): Promise<void> {
  let last: unknown;
  const ready = async () => {
    const res = await http(`${api}/health/ready`);
    last = res.body;
    return res.status === 200 && (degraded || res.body?.status === "ok");
  };
  await until(`${api} to be ready`, ready, { timeoutMs }).catch((err: Error) => {
    throw new Error(`${err.message}; it last said ${JSON.stringify(last)}`);
  });
}

/** Small fetch wrapper: JSON in, status + headers + parsed JSON out. */
export async function http(url: string, init: RequestInit & { json?: unknown } = {}) {
  const { json, ...rest } = init;
  const res = await fetch(url, {
    ...rest,
    headers: { ...(json !== undefined ? { "content-type": "application/json" } : {}), ...rest.headers },
    body: json !== undefined ? JSON.stringify(json) : rest.body,
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text, the test will say so */
  }
  return { status: res.status, headers: res.headers, body };
}
