/**
 * Distributed tracing through the real configuration: TRACING=<a Zipkin v2 collector>. The
 * collector is a small HTTP server started here that checks ids as Zipkin does (lower-hex,
 * 16 or 32 digits; one bad id and the whole batch is a 400) and records what it accepted.
 *
 * A request through the gateway with a known X-Request-Id gives one trace whose id is that
 * request id: the gateway's request span is its root, the products action a child, on one
 * node and across nodes over RabbitMQ. With TRACING off no span arrives and these tests fail.
 *
 * The nodes are built from lib/config.ts and moleculer.config.ts as a real node is; only the
 * exporter's batch interval is shortened (5 s → 0.1 s) so the test does not wait.
 */
import http from "node:http";
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import { randomBytes, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { AddressInfo } from "node:net";
import type { ServiceBroker, ServiceSchema } from "moleculer";
import { describeWithServers } from "../support/servers.ts";
import { http as request } from "../support/node.ts";
import { until } from "../../scripts/support/until.ts";

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  localEndpoint: { serviceName: string | null };
  tags: Record<string, string>;
}

const HEX_TRACE_ID = /^(?:[0-9a-f]{16}|[0-9a-f]{32})$/;
const HEX_SPAN_ID = /^[0-9a-f]{16}$/;

/** A fake Zipkin collector: POST /api/v2/spans, validated like Zipkin's JSON v2 decoder. */
async function startCollector() {
  const spans: ZipkinSpan[] = [];
  const authorizations: (string | undefined)[] = [];
  let refused = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/api/v2/spans") {
        res.writeHead(404).end();
        return;
      }
      const batch = JSON.parse(body) as ZipkinSpan[];
      const valid = (s: ZipkinSpan) =>
        HEX_TRACE_ID.test(s.traceId) && HEX_SPAN_ID.test(s.id) && (s.parentId === undefined || HEX_SPAN_ID.test(s.parentId));
      if (!Array.isArray(batch) || !batch.every(valid)) {
        refused++;
        res.writeHead(400).end("traceId should be lower-hex encoded with no prefix");
        return;
      }
      authorizations.push(req.headers.authorization);
      spans.push(...batch);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    spans,
    authorizations,
    refused: () => refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const collector = await startCollector();
const TRACING = `http://tracer:secret@127.0.0.1:${collector.port}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-tracing-"));
// Read by the services themselves (getConfig): the gateway on a free port, products on SQLite.
Object.assign(process.env, {
  PORT: "0",
  HOST: "127.0.0.1",
  METRICS: "false",
  CACHER: "memory",
  SQLITE_PATH: path.join(dataDir, "shop.sqlite"),
  TRACING,
});
delete process.env.DATABASE_URL;
delete process.env.TRANSPORTER;
const { getConfig, loadConfig } = await import("../../lib/config.ts");
const { createBroker } = await import("../../broker.ts");
const { brokerOptions, tracing } = await import("../../moleculer.config.ts");
const { migrateUp } = await import("../../integrations/database/migrator.ts");
type Config = ReturnType<typeof getConfig>;

const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

/** A node as broker.ts builds it, its spans sent every 0.1 s. */
function traced(config: Config) {
  return { logger: false as const, tracing: tracing(config, 0.1) };
}

function apiOf(broker: ServiceBroker): string {
  const gateway = broker.getLocalService("api") as unknown as { server: { address(): AddressInfo } };
  return `http://127.0.0.1:${gateway.server.address().port}/api`;
}

/** moleculer-web routes a service a moment after discovering it. */
async function waitForRoute(url: string) {
  await until(`${url} to be routed`, async () => (await request(url)).status === 200, { timeoutMs: 10_000, intervalMs: 50 });
}

const hasRequestAndAction = (spans: ZipkinSpan[]) =>
  spans.some((s) => s.name === "GET /api/products") && spans.some((s) => s.name === "action 'products.list'");

/** The spans `match` picks, once `ready` says they are all there (the exporters flush every 0.1 s). */
async function spansWhere(
  match: (s: ZipkinSpan) => boolean,
  ready: (spans: ZipkinSpan[]) => boolean,
  timeoutMs = 5000,
): Promise<ZipkinSpan[]> {
  const spans = () => collector.spans.filter(match);
  await until("the spans", () => ready(spans()), { timeoutMs, intervalMs: 50 }).catch(() => {
    const got = spans();
    throw new Error(
      `${got.length} matching spans after ${timeoutMs} ms (${collector.spans.length} received in all, ` +
        `${collector.refused()} batches refused): ${JSON.stringify(got.map((s) => s.name))}`,
    );
  });
  return spans();
}
const traceOf = (traceId: string) => spansWhere((s) => s.traceId === traceId, hasRequestAndAction);

/** The gateway's request span is the root; the products action is its child; both name the request. */
function expectOneRequestTree(spans: ZipkinSpan[], requestId: string) {
  const root = spans.find((s) => s.name === "GET /api/products")!;
  const list = spans.find((s) => s.name === "action 'products.list'")!;
  expect(root.parentId).toBeUndefined();
  expect(root.localEndpoint.serviceName).toBe("api");
  expect(list.parentId).toBe(root.id);
  expect(list.localEndpoint.serviceName).toBe("products");
  for (const span of [root, list]) expect(span.tags.requestID).toBe(requestId);
  // No params, meta or response on a span (passwords, tokens, addresses): only the gateway's URL and method.
  for (const span of spans)
    expect(Object.keys(span.tags).filter((k) => /^(params|meta|response)\./.test(k) && !/^params\.req\.(url|method)$/.test(k))).toEqual([]);
  return { root, list };
}

afterAll(async () => {
  await collector.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("tracing on one node (TRACING=<Zipkin collector URL>)", () => {
  let broker: ServiceBroker;
  let api: string;

  beforeAll(async () => {
    const config = getConfig();
    expect(config.tracing).toMatchObject({ exporter: "zipkin", url: `http://127.0.0.1:${collector.port}`, sampleRate: 1 });
    await migrateUp(config.database);
    broker = await createBroker({ ...config, services: ["api", "products"] }, traced(config));
    await broker.start();
    api = apiOf(broker);
    await waitForRoute(`${api}/products`);
  });

  afterAll(() => broker?.stop());

  test("the X-Request-Id is the trace id: the gateway's request span and the products action share it", async () => {
    const requestId = randomUUID();
    const res = await request(`${api}/products?search=ann.private%40example.com`, { headers: { "x-request-id": requestId } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(requestId);

    const traceId = requestId.replace(/-/g, "");
    const spans = await traceOf(traceId);
    expectOneRequestTree(spans, requestId);
    // The query string (a search term, an e-mail address) stays out of span names and tags.
    expect(JSON.stringify(spans)).not.toMatch(/ann\.private|search=/);
    expect(spans.find((s) => s.name === "GET /api/products")?.tags).toMatchObject({ method: "GET", path: "/api/products" });
    // Credentials in TRACING's URL reach the collector as a header, not in the URL.
    expect(collector.authorizations.at(-1)).toBe(`Basic ${Buffer.from("tracer:secret").toString("base64")}`);
  });

  test("a generated request id (no X-Request-Id) is the trace id too", async () => {
    const res = await request(`${api}/products`);
    const requestId = res.headers.get("x-request-id")!;
    const spans = await traceOf(requestId.replace(/-/g, ""));
    expectOneRequestTree(spans, requestId);
  });

  test("a client id that is not hex still gives one trace the collector accepts, named by the requestID tag", async () => {
    const refusedBefore = collector.refused();
    const requestId = `lb-7f3a.trace:${randomBytes(4).toString("hex")}_ABC`;
    const res = await request(`${api}/products`, { headers: { "x-request-id": requestId } });
    expect(res.headers.get("x-request-id")).toBe(requestId);
    const spans = await spansWhere((s) => s.tags.requestID === requestId, hasRequestAndAction);
    expect(spans.map((s) => s.name).sort()).toEqual(["GET /api/products", "action 'products.list'"]);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(spans[0]!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expectOneRequestTree(spans, requestId);
    expect(collector.refused()).toBe(refusedBefore);
  });

  test("spans still queued when a node stops are sent, not dropped", async () => {
    const config = getConfig();
    const { ServiceBroker } = await import("moleculer");
    // A long interval: only the stop can send this span.
    const node = new ServiceBroker({ ...brokerOptions({ ...config, services: [] }), logger: false, tracing: tracing(config, 3600) });
    node.createService({ name: "probe", actions: { ping: { access: "public", handler: () => "pong" } } } as unknown as ServiceSchema);
    await node.start();
    const requestId = randomUUID();
    expect(await node.call("probe.ping", {}, { requestID: requestId })).toBe("pong");
    await sleep(200); // a fixed wait on purpose: it proves that nothing is sent before the stop
    expect(collector.spans.filter((s) => s.tags.requestID === requestId)).toEqual([]);
    await node.stop();
    expect(collector.spans.filter((s) => s.tags.requestID === requestId).map((s) => [s.traceId, s.name])).toEqual([
      [requestId.replace(/-/g, ""), "action 'probe.ping'"],
    ]);
  });
});

const withRabbit = await describeWithServers("rabbitmq");

withRabbit("tracing across nodes over RabbitMQ", () => {
  const namespace = `trace-${randomBytes(4).toString("hex")}`;
  const gatewayNode = `${namespace}-api`;
  const productsNode = `${namespace}-products`;
  let gateway: ServiceBroker;
  let products: ServiceBroker;
  let api: string;

  beforeAll(async () => {
    const env = { ...process.env, TRANSPORTER: AMQP, NAMESPACE: namespace };
    const gatewayConfig = loadConfig({ ...env, NODE_ID: gatewayNode, SERVICES: "api" });
    const productsConfig = loadConfig({ ...env, NODE_ID: productsNode, SERVICES: "products" });
    await migrateUp(productsConfig.database);
    gateway = await createBroker(gatewayConfig, traced(gatewayConfig));
    products = await createBroker(productsConfig, traced(productsConfig));
    await Promise.all([gateway.start(), products.start()]);
    api = apiOf(gateway);
    await waitForRoute(`${api}/products`);
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), products?.stop()]);
    const { deleteNamespace } = await import("../../bench/amqp-cleanup.ts");
    await deleteNamespace(AMQP, namespace, [gatewayNode, productsNode]).catch(() => undefined);
  });

  test("the gateway's span (its node) and the products action's (the other node) form one trace named by the X-Request-Id", async () => {
    const requestId = randomUUID();
    const res = await request(`${api}/products`, { headers: { "x-request-id": requestId } });
    expect(res.status).toBe(200);
    const spans = await traceOf(requestId.replace(/-/g, ""));
    const { root, list } = expectOneRequestTree(spans, requestId);
    expect(root.tags.nodeID).toBe(gatewayNode);
    expect(list.tags.nodeID).toBe(productsNode);
    expect(list.tags.callerNodeID).toBe(gatewayNode);
    expect(list.tags.remoteCall).toBe("true");
  });
});
