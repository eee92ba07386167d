/**
 * moleculer.config.ts's order of moleculer's own middlewares (BUILT_IN_MIDDLEWARES), on a real
 * broker in this process with the shop's broker options: a cache hit answers before the call
 * protection, which then sees only the calls that ran; the graceful stop still waits for a
 * handler whose caller has timed out.
 */
import { jest } from "@jest/globals";
import { Errors, ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import { loadConfig } from "../../lib/config.ts";
import { brokerOptions } from "../../moleculer.config.ts";

const config = loadConfig({ NODE_ENV: "test", CACHER: "memory", SERVICES: "none" });

let broker: ServiceBroker | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

function startBroker(...schemas: ServiceSchema[]) {
  broker = new ServiceBroker({ ...brokerOptions(config), logger: false, metrics: { enabled: false } });
  for (const schema of schemas) broker.createService(schema);
  return broker.start().then(() => broker!);
}

test("the circuit breaker counts the calls that ran, not the cache hits: a node whose every call fails is taken out", async () => {
  const opened: unknown[] = [];
  const b = await startBroker(
    {
      name: "stock",
      actions: {
        get: {
          access: "internal",
          cache: { keys: ["id"] },
          handler(ctx: Context<{ id: string }>) {
            if (ctx.params.id === "hot") return { id: "hot" };
            throw new Errors.MoleculerError("The database is down.", 503, "DATABASE_UNAVAILABLE");
          },
        },
      },
    },
    {
      name: "watch",
      events: {
        "$circuit-breaker.opened"(ctx: Context) {
          opened.push(ctx.params);
        },
      },
    },
  );
  for (let i = 0; i < 200; i++) await b.call("stock.get", { id: "hot" }); // 1 call, 199 hits
  for (let i = 0; i < 25; i++) await b.call("stock.get", { id: `cold-${i}` }).catch(() => undefined);
  // Counted with the hits (moleculer's own order), 19 failures in 219 calls stayed under the
  // threshold (0.5) and the breaker never opened.
  await new Promise((resolve) => setImmediate(resolve));
  expect(opened).toEqual([expect.objectContaining({ action: "stock.get" })]);
});

test("a cache hit arms no timeout, a call that runs does", async () => {
  const b = await startBroker({
    name: "stock",
    actions: { get: { access: "internal", cache: { keys: ["id"] }, handler: (ctx: Context<{ id: string }>) => ({ id: ctx.params.id }) } },
  });
  await b.call("stock.get", { id: "hot" });
  const timers = jest.spyOn(globalThis, "setTimeout");
  try {
    await b.call("stock.get", { id: "hot" });
    expect(timers).not.toHaveBeenCalled();
    await b.call("stock.get", { id: "cold" });
    expect(timers).toHaveBeenCalledWith(expect.any(Function), config.requestTimeoutMs);
  } finally {
    timers.mockRestore();
  }
});

test("the graceful stop waits for a handler whose caller has timed out", async () => {
  let finished = false;
  const b = await startBroker({
    name: "orders",
    actions: {
      async create() {
        await new Promise((resolve) => setTimeout(resolve, 300));
        finished = true;
        return "created";
      },
    },
  });
  await expect(b.call("orders.create", {}, { timeout: 20, retries: 0 })).rejects.toThrow(Errors.RequestTimeoutError);
  expect(finished).toBe(false);
  await b.stop();
  broker = undefined;
  expect(finished).toBe(true);
});
