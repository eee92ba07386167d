/**
 * An in-process node for integration tests: the real service schemas on a real broker,
 * configured through the same environment variables as production. Call it before any
 * other import of the project's modules in a test file (the config is read once).
 */
import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import type { Config } from "../../lib/config.ts";

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
  const { createBroker } = await import("../../lib/broker.ts");
  const config = getConfig();
  const broker = await createBroker(config, { logger: false });
  await broker.start();
  const gateway = config.services.includes("api") ? (broker.getLocalService("api") as unknown as { server: { address(): AddressInfo } }) : null;
  const api = gateway ? `http://127.0.0.1:${gateway.server.address().port}/api` : "";
  if (api) await waitUntilReady(api);
  return { broker, config, api, stop: () => broker.stop() };
}

/** Poll GET /health/ready until it answers 200 (routes generated, databases reachable). */
export async function waitUntilReady(api: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await http(`${api}/health/ready`).catch(() => null);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${api} not ready after ${timeoutMs} ms: ${JSON.stringify(res?.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Small fetch wrapper: JSON in, status + headers + parsed JSON out. */
export async function http(url: string, init: RequestInit & { json?: unknown } = {}) {
  const { json, ...rest } = init;
  const res = await fetch(url, {
    ...rest,
    headers: { ...(json !== undefined ? { "content-type": "application/json" } : {}), ...(rest.headers ?? {}) },
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
