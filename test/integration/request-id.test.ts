/**
 * Request ids over HTTP: the gateway takes a sane `X-Request-Id` (or makes one), answers with
 * it on every route and outcome, and the whole call chain runs under it, so every JSON log
 * line written while handling the request carries `requestId`: on the gateway's node, on
 * another node over RabbitMQ, and in a durable event's consumer.
 *
 * The nodes are built with the real broker options (moleculer.config.ts, LOG_FORMAT=json:
 * Pino with the request id mixin); only Pino's destination is swapped for an array.
 */
import net from "node:net";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Context, Service, ServiceBroker, ServiceSchema } from "moleculer";
import { describeWithServers } from "../support/servers.ts";
import { http } from "../support/node.ts";
import { until } from "../../scripts/support/until.ts";

Object.assign(process.env, {
  PORT: "0",
  HOST: "127.0.0.1",
  METRICS: "false",
  SERVICES: "api",
  LOG_FORMAT: "json",
  LOG_LEVEL: "info",
  CACHER: "memory",
});
const { getConfig, loadConfig } = await import("../../lib/config.ts");
const { createBroker } = await import("../../broker.ts");
const { brokerOptions } = await import("../../moleculer.config.ts");
const { DurableEvents } = await import("../../integrations/messaging/durable-events.ts");
const { currentRequestId, withRequestId } = await import("../../lib/request-id.ts");
type Config = ReturnType<typeof getConfig>;

const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

interface LogLine {
  level: number;
  err?: { message?: string; stack?: string };
  msg: string;
  nodeID?: string;
  mod?: string;
  requestId?: string;
}

/** The node's real logger options, writing into `lines`. */
function capturingLogger(config: Config, lines: LogLine[]) {
  const real = brokerOptions(config).logger as { type: string; options: { pino: { options: Record<string, unknown> } } };
  expect(real.type).toBe("Pino");
  expect(typeof real.options.pino.options.mixin).toBe("function");
  const destination = { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) };
  return { ...real, options: { ...real.options, pino: { ...real.options.pino, destination } } };
}

/**
 * A published test service: `whoami` logs, waits, optionally calls `<next>.inner` (on whichever
 * node runs it), logs again and returns its ctx.requestID; `boom` logs and fails with a 500.
 */
function probe(name: string, next?: string): ServiceSchema {
  return {
    name,
    settings: { rest: `/${name}` },
    actions: {
      whoami: {
        rest: "GET /whoami",
        access: "public",
        async handler(this: Service, ctx: Context) {
          this.logger.info(`probe ${name}: handling`);
          await sleep(5);
          if (next) await ctx.call(`${next}.inner`);
          this.logger.info(`probe ${name}: done`);
          return { requestId: ctx.requestID };
        },
      },
      inner: {
        access: "internal",
        async handler(this: Service) {
          await sleep(1);
          this.logger.info(`probe ${name}: inner`);
        },
      },
      boom: {
        rest: "GET /boom",
        access: "public",
        handler(this: Service) {
          this.logger.info(`probe ${name}: about to fail`);
          throw new Error("probe failure");
        },
      },
    },
  } as unknown as ServiceSchema;
}

/** Stands in for the storage service behind the upload route (`POST /api/files` → storage.upload). */
const fakeStorage = {
  name: "storage",
  actions: {
    upload: {
      access: "public",
      async handler(this: Service, ctx: Context & { stream: AsyncIterable<Buffer> }) {
        let size = 0;
        for await (const chunk of ctx.stream) size += chunk.length;
        this.logger.info(`probe storage: stored ${size} bytes`);
        return { size, requestId: ctx.requestID };
      },
    },
  },
} as unknown as ServiceSchema;

/** moleculer-web generates the aliases of services it discovers a moment later. */
async function waitForRoute(url: string) {
  await until(`${url} to be routed`, async () => (await http(url)).status !== 404, { timeoutMs: 10_000, intervalMs: 50 });
}

/** A raw HTTP/1.1 request, for header values fetch refuses to send. Returns the status and the X-Request-Id answered (if any). */
function rawGet(api: string, path: string, headerLines: string): Promise<{ status: number; requestId: string | undefined; head: string }> {
  const { hostname, port, pathname } = new URL(api + path);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (d) => (data += d));
    socket.on("error", reject);
    socket.on("end", () => {
      const head = data.split("\r\n\r\n")[0] ?? "";
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, requestId: /^x-request-id: (.*)$/im.exec(head)?.[1], head });
    });
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\n${headerLines}Connection: close\r\n\r\n`, "latin1");
  });
}

const GENERATED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("request ids on one node", () => {
  const lines: LogLine[] = [];
  let broker: ServiceBroker;
  let api: string;

  beforeAll(async () => {
    const config = getConfig();
    broker = await createBroker(config, { logger: capturingLogger(config, lines) });
    broker.createService(probe("probe-a", "probe-a"));
    broker.createService(fakeStorage);
    await broker.start();
    const gateway = broker.getLocalService("api") as unknown as { server: { address(): net.AddressInfo } };
    api = `http://127.0.0.1:${gateway.server.address().port}/api`;
    await waitForRoute(`${api}/probe-a/whoami`);
  });

  afterAll(() => broker?.stop());

  /** The probe lines logged since `from`. */
  const probeLines = (from: number) => lines.slice(from).filter((l) => l.msg.startsWith("probe "));

  test("without X-Request-Id the response carries a generated id, the one the services saw and logged", async () => {
    const from = lines.length;
    const res = await http(`${api}/probe-a/whoami`);
    expect(res.status).toBe(200);
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(GENERATED);
    expect(res.body).toEqual({ requestId: id });
    const logged = probeLines(from);
    expect(logged.map((l) => l.msg)).toEqual(["probe probe-a: handling", "probe probe-a: inner", "probe probe-a: done"]);
    for (const line of logged) expect(line.requestId).toBe(id);
  });

  test("a sane X-Request-Id is used for the whole call chain and echoed", async () => {
    const id = "lb-7f3a.trace:0001_ABC";
    const from = lines.length;
    const res = await http(`${api}/probe-a/whoami`, { headers: { "x-request-id": id } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(res.body).toEqual({ requestId: id });
    const logged = probeLines(from);
    expect(logged).toHaveLength(3);
    for (const line of logged) expect(line).toMatchObject({ requestId: id, mod: "probe-a", level: 30 });
  });

  test.each([
    ["too long", "a".repeat(129)],
    ["characters outside [A-Za-z0-9._:-]", "<script>alert(1)</script>"],
    ["a space", "abc def"],
    ["an encoded CRLF", "abc%0d%0aSet-Cookie:%20x=1"],
    ["a JSON fragment", '","admin":true,"x":"'],
  ])("an X-Request-Id with %s is replaced by a generated one", async (_why, sent) => {
    const from = lines.length;
    const res = await http(`${api}/probe-a/whoami`, { headers: { "x-request-id": sent } });
    expect(res.status).toBe(200);
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(GENERATED);
    expect(res.body).toEqual({ requestId: id });
    for (const line of probeLines(from)) expect(line.requestId).toBe(id);
  });

  test("header values only a raw client sends (tab, repeated header, obs-fold line, bare CR, Latin-1) never come back", async () => {
    for (const headerLines of [
      "X-Request-Id: abc\tdef\r\n",
      "X-Request-Id: abc\r\nX-Request-Id: def\r\n",
      "X-Request-Id: abc\r\n Set-Cookie: x=1\r\n",
      "X-Request-Id: abc\rSet-Cookie: x=1\r\n",
      "X-Request-Id: caf\u00e9\r\n",
    ]) {
      const res = await rawGet(api, "/probe-a/whoami", headerLines);
      // Node's parser refuses some of these outright (400); whatever passes it gets a new id.
      if (res.status !== 400) {
        expect(res.status).toBe(200);
        expect(res.requestId).toMatch(GENERATED);
      }
      expect(res.head).not.toMatch(/set-cookie/i);
    }
  });

  test("errors carry the id: a failing action (500, logged by the gateway with it), an unknown route, a refused credential", async () => {
    const id = "err-test-0001";
    const from = lines.length;
    const res = await http(`${api}/probe-a/boom`, { headers: { "x-request-id": id } });
    expect(res.status).toBe(500);
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(probeLines(from)).toEqual([expect.objectContaining({ msg: "probe probe-a: about to fail", requestId: id })]);
    const gatewayErrors = lines.slice(from).filter((l) => l.mod === "api" && l.level >= 50);
    // Logged once, with the method, the URL and the error's stack.
    expect(gatewayErrors).toEqual([
      expect.objectContaining({ requestId: id, msg: expect.stringMatching(/^GET \/api\/probe-a\/boom failed:/) }),
    ]);
    expect(gatewayErrors[0]?.err?.stack).toContain("probe failure");

    const missing = await http(`${api}/no-such-route`, { headers: { "x-request-id": "err-test-0002" } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toBe("err-test-0002");

    const refused = await http(`${api}/probe-a/whoami`, { headers: { "x-request-id": "err-test-0003", authorization: "Digest x" } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("x-request-id")).toBe("err-test-0003");
  });

  test(`the upload route: the id reaches the storage action through the multipart stream, \
and comes back on success and on errors`, async () => {
    const id = "upload-0001";
    const form = new FormData();
    form.append("file", new Blob(["hello, world"], { type: "text/plain" }), "hello.txt");
    const from = lines.length;
    const res = await http(`${api}/files`, { method: "POST", body: form, headers: { "x-request-id": id } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(res.body).toEqual({ size: 12, requestId: id });
    expect(probeLines(from)).toEqual([expect.objectContaining({ msg: "probe storage: stored 12 bytes", requestId: id })]);

    const wrongType = await http(`${api}/files`, { method: "POST", json: { file: "no" }, headers: { "x-request-id": "upload-0002" } });
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers.get("x-request-id")).toBe("upload-0002");

    const invalid = await http(`${api}/files`, { method: "POST", json: {}, headers: { "x-request-id": "bad id" } });
    expect(invalid.status).toBe(415);
    expect(invalid.headers.get("x-request-id")).toMatch(GENERATED);
  });

  test("lines written outside any request carry no requestId", () => {
    const startup = lines.filter((l) => /Node ready|ServiceBroker with \d+ service/.test(l.msg));
    expect(startup.length).toBeGreaterThan(0);
    for (const line of startup) expect(line.requestId).toBeUndefined();
  });
});

const withRabbit = await describeWithServers("rabbitmq");

withRabbit("request ids across nodes over RabbitMQ", () => {
  const namespace = `rid-${randomBytes(4).toString("hex")}`;
  const nodeA = `${namespace}-gateway`;
  const nodeB = `${namespace}-worker`;
  const lines: LogLine[] = [];
  let gateway: ServiceBroker;
  let worker: ServiceBroker;
  let api: string;

  beforeAll(async () => {
    const env = { ...process.env, TRANSPORTER: AMQP, NAMESPACE: namespace };
    const configA = loadConfig({ ...env, NODE_ID: nodeA });
    const configB = loadConfig({ ...env, NODE_ID: nodeB, SERVICES: "none" });
    gateway = await createBroker(configA, { logger: capturingLogger(configA, lines) });
    gateway.createService(probe("hop-a"));
    const { ServiceBroker } = await import("moleculer");
    worker = new ServiceBroker({ ...brokerOptions(configB), logger: capturingLogger(configB, lines) });
    worker.createService(probe("hop-b", "hop-a"));
    await Promise.all([gateway.start(), worker.start()]);
    const service = gateway.getLocalService("api") as unknown as { server: { address(): net.AddressInfo } };
    api = `http://127.0.0.1:${service.server.address().port}/api`;
    await waitForRoute(`${api}/hop-b/whoami`);
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), worker?.stop()]);
    const { deleteNamespace } = await import("../../bench/amqp-cleanup.ts");
    await deleteNamespace(AMQP, namespace, [nodeA, nodeB]).catch(() => undefined);
  });

  test("the id sent to the gateway is the one the remote action logs, and the one logged back on the gateway's node", async () => {
    const id = `cross-node-${randomBytes(4).toString("hex")}`;
    const from = lines.length;
    const res = await http(`${api}/hop-b/whoami`, { headers: { "x-request-id": id } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(res.body).toEqual({ requestId: id });
    const mine = lines.slice(from).filter((l) => l.msg.startsWith("probe "));
    expect(mine.map((l) => [l.nodeID, l.msg, l.requestId])).toEqual([
      [nodeB, "probe hop-b: handling", id],
      [nodeA, "probe hop-a: inner", id],
      [nodeB, "probe hop-b: done", id],
    ]);
  });

  test("a durable event carries its publisher's request id to the consumer, on every attempt", async () => {
    const silent = { info() {}, warn() {}, error() {} };
    const producer = new DurableEvents(AMQP, namespace, silent);
    const consumer = new DurableEvents(AMQP, namespace, silent);
    const seen: { messageId: string; attempt: number; current: string | undefined }[] = [];
    try {
      // Set up inside some other request's scope: it must not leak into the deliveries.
      await withRequestId("stale-scope", () =>
        consumer.consume({
          group: "rid",
          patterns: ["rid.*"],
          maxAttempts: 2,
          retryBaseMs: 50,
          async handle(message) {
            await sleep(1);
            seen.push({ messageId: message.messageId, attempt: message.attempt, current: currentRequestId() });
            if (message.attempt === 0) throw new Error("the first attempt fails");
          },
        }),
      );
      await withRequestId("durable-req-1", () => producer.publish("rid.happened", {}, "m-1")); // from the scope
      await producer.publish("rid.happened", {}, "m-2", 0, "durable-req-2"); // explicit (emitDurable passes ctx.requestID)
      await producer.publish("rid.happened", {}, "m-3"); // none
      await until("two attempts of each message", () => seen.length >= 6, { timeoutMs: 5000, intervalMs: 25 });
      const byMessage = (id: string) => seen.filter((s) => s.messageId === id).map((s) => [s.attempt, s.current]);
      expect(byMessage("m-1")).toEqual([
        [0, "durable-req-1"],
        [1, "durable-req-1"],
      ]);
      expect(byMessage("m-2")).toEqual([
        [0, "durable-req-2"],
        [1, "durable-req-2"],
      ]);
      expect(byMessage("m-3")).toEqual([
        [0, undefined],
        [1, undefined],
      ]);
    } finally {
      await consumer.deleteTopology([{ group: "rid", maxAttempts: 2 }]).catch(() => undefined);
      await Promise.all([consumer.close(1000), producer.close(1000)]);
    }
  });
});
