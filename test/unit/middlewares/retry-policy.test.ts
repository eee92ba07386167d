import { Errors, ServiceBroker, type ServiceSchema } from "moleculer";
import { isIdempotent, mayRetry, neverStarted, RetryPolicyMiddleware } from "../../../middlewares/retry-policy.ts";

const timeout = (action: string) => new Errors.RequestTimeoutError({ action, nodeID: "n2" });
const undelivered = (action: string) => new Errors.MoleculerRetryableError("gone", 503, "UNDELIVERED", { action, nodeID: "n2" });

describe("which calls may run again", () => {
  test("idempotent: declared, or only REST GET routes", () => {
    expect(isIdempotent({ idempotent: true })).toBe(true);
    expect(isIdempotent({ rest: "GET /:id" })).toBe(true);
    expect(isIdempotent({ rest: ["GET /", "GET /all"] })).toBe(true);
    expect(isIdempotent({ rest: "POST /" })).toBe(false);
    expect(isIdempotent({ rest: ["GET /", "POST /"] })).toBe(false);
    expect(isIdempotent({ rest: "GET /", idempotent: false })).toBe(false);
    expect(isIdempotent({})).toBe(false);
  });

  test("a timeout retries a read, never a checkout: the checkout may still be running", () => {
    expect(mayRetry({ name: "products.get", rest: "GET /:id" }, timeout("products.get"))).toBe(true);
    expect(mayRetry({ name: "orders.create", rest: "POST /" }, timeout("orders.create"))).toBe(false);
    expect(mayRetry({ name: "orders.create" }, new Errors.RequestRejectedError({ action: "orders.create", nodeID: "n2" }))).toBe(false);
  });

  test("a call that provably never started may run again, whatever it does", () => {
    expect(mayRetry({ name: "orders.create" }, undelivered("orders.create"))).toBe(true);
    expect(mayRetry({ name: "orders.create" }, new Errors.ServiceNotAvailableError({ action: "orders.create", nodeID: "n2" }))).toBe(true);
  });

  test("proof about a nested call says nothing about the action it passed through", () => {
    expect(neverStarted("orders.create", undelivered("products.reserve"))).toBe(false);
    expect(mayRetry({ name: "orders.create" }, undelivered("products.reserve"))).toBe(false);
    expect(mayRetry({ name: "api.rest" }, new Errors.ServiceNotAvailableError({ action: "products.get", nodeID: "n2" }))).toBe(false);
  });

  test("errors not marked retryable are never retried", () => {
    expect(mayRetry({ name: "products.get", rest: "GET /:id" }, new Errors.MoleculerClientError("no", 404, "NOT_FOUND"))).toBe(false);
    expect(mayRetry({ name: "products.get", rest: "GET /:id" }, new Error("bug"))).toBe(false);
  });
});

describe("on a broker", () => {
  let broker: ServiceBroker;
  const runs: Record<string, number> = {};
  afterEach(() => broker?.stop());

  /** A broker that retries 3 times, 1 ms apart, by each action's rule (RetryPolicyMiddleware). */
  const retryingBroker = (requestTimeout: number) =>
    new ServiceBroker({
      logger: false,
      requestTimeout,
      retryPolicy: {
        enabled: true,
        retries: 3,
        delay: 1,
        maxDelay: 5,
        factor: 1,
        check: (err: Error) => !!(err as Errors.MoleculerError).retryable,
      },
      middlewares: [RetryPolicyMiddleware],
    });

  /** A service whose actions time out on their first two runs. */
  const slow: ServiceSchema = {
    name: "slow",
    actions: Object.fromEntries(
      [
        ["read", { rest: "GET /" }],
        ["write", { rest: "POST /" }],
        ["keyed", { idempotent: true }],
      ].map(([name, def]) => [
        name as string,
        {
          ...(def as object),
          access: "internal" as const,
          async handler() {
            runs[name as string] = (runs[name as string] ?? 0) + 1;
            if (runs[name as string]! <= 2) await new Promise((r) => setTimeout(r, 100));
            return "done";
          },
        },
      ]),
    ),
  };

  test("moleculer's Retry follows each action's rule: a read and a keyed write run again, a write once", async () => {
    broker = retryingBroker(30);
    broker.createService(slow);
    await broker.start();
    await expect(broker.call("slow.read")).resolves.toBe("done");
    await expect(broker.call("slow.keyed")).resolves.toBe("done");
    await expect(broker.call("slow.write")).rejects.toThrow(Errors.RequestTimeoutError);
    expect(runs).toEqual({ read: 3, keyed: 3, write: 1 });
  });

  test("a retry ends at the request's deadline: it gives up at it, is not retried again, and no attempt starts after it", async () => {
    let runsOfStuck = 0;
    broker = retryingBroker(1_000);
    broker.createService({
      name: "stuck",
      actions: {
        read: {
          rest: "GET /",
          access: "internal",
          async handler() {
            // The first replica is gone at once; the next one waits on a stuck database.
            if (++runsOfStuck === 1) throw new Errors.MoleculerRetryableError("The replica went away.", 503, "GONE");
            await new Promise((r) => setTimeout(r, 2_000).unref());
            return "late";
          },
        },
      },
    });
    await broker.start();
    const started = Date.now();
    const err = await broker.call("stuck.read", {}, { meta: { deadline: started + 150 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Errors.RequestTimeoutError);
    expect((err as Errors.MoleculerError).retryable).toBe(false);
    expect(runsOfStuck).toBe(2); // without the deadline: 4 runs, each given the whole timeout (1 s)
    expect(Date.now() - started).toBeLessThan(700); // at the deadline (150 ms), not at the attempt's timeout (1 s)
  });
});
