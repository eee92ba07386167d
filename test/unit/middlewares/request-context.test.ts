/** The request id scope (lib/request-id.ts): which incoming ids are taken, and that handlers see theirs. */
import { setTimeout as sleep } from "node:timers/promises";
import { ServiceBroker, type Context } from "moleculer";
import { acceptRequestId, consoleFormatter, currentRequestId, requestIdMixin, withRequestId } from "../../../lib/request-id.ts";
import { RequestContextMiddleware } from "../../../middlewares/request-context.ts";
import { until } from "../../../scripts/support/until.ts";

describe("acceptRequestId", () => {
  test.each(["3f0c2d1e-8b7a-4c2d-9e1f-0a1b2c3d4e5f", "01HZX3K9Q8Z7Y6X5W4V3U2T1S0", "a", "lb.trace:42_x-Y", "x".repeat(128)])(
    "takes %s",
    (id) => {
      expect(acceptRequestId(id)).toBe(id);
    },
  );

  test.each([
    ["empty", ""],
    ["129 characters", "x".repeat(129)],
    ["a space", "a b"],
    ["CR LF", "abc\r\nSet-Cookie: x=1"],
    ["a comma (a repeated header)", "a, b"],
    ["markup", "<script>"],
    ["non-ASCII", "ünïcode"],
    ["a slash", "a/b"],
  ])("refuses %s", (_why, id) => {
    expect(acceptRequestId(id)).toBeUndefined();
  });

  test("refuses anything but a string", () => {
    for (const value of [undefined, null, 42, ["a", "b"], { id: "a" }]) expect(acceptRequestId(value)).toBeUndefined();
  });
});

describe("withRequestId and the log helpers", () => {
  test("the id is there inside the scope and its async continuations, and gone outside", async () => {
    expect(currentRequestId()).toBeUndefined();
    const seen = await withRequestId("r-1", async () => {
      await sleep(5);
      return [currentRequestId(), await new Promise((resolve) => setImmediate(() => resolve(currentRequestId())))];
    });
    expect(seen).toEqual(["r-1", "r-1"]);
    expect(currentRequestId()).toBeUndefined();
    expect(withRequestId("r-2", () => withRequestId(undefined, currentRequestId))).toBeUndefined();
  });

  test("Pino's mixin adds requestId inside a request only, in a new object each time", () => {
    expect(requestIdMixin()).toEqual({});
    expect(requestIdMixin()).not.toBe(requestIdMixin());
    expect(withRequestId("r-3", requestIdMixin)).toEqual({ requestId: "r-3" });
  });

  test("the console format shows the id after the module name", () => {
    const logger = { levelColorStr: { info: "INFO " } };
    const printArgs = (args: unknown[]) => args.map((a) => (typeof a === "object" ? JSON.stringify(a) : a));
    const inside = withRequestId("r-4", () => consoleFormatter.call(logger, "info", ["hello", { a: 1 }], { mod: "users" }, { printArgs }));
    expect(inside.slice(1)).toEqual(["INFO ", expect.stringContaining("USERS:"), expect.stringContaining("[r-4]"), "hello", '{"a":1}']);
    const outside = consoleFormatter.call(logger, "info", ["hello"], { mod: "users" }, { printArgs });
    expect(outside.slice(1)).toEqual(["INFO ", expect.stringContaining("USERS:"), "hello"]);
  });
});

describe("RequestContextMiddleware", () => {
  let broker: ServiceBroker;
  const seen: { where: string; requestID: string | undefined; current: string | undefined }[] = [];

  beforeAll(async () => {
    broker = new ServiceBroker({ logger: false, middlewares: [RequestContextMiddleware] });
    broker.createService({
      name: "outer",
      actions: {
        async run(ctx: Context<{ wait: number }>) {
          await sleep(ctx.params.wait);
          seen.push({ where: "outer", requestID: ctx.requestID ?? undefined, current: currentRequestId() });
          await ctx.call("inner.run", { wait: ctx.params.wait });
          ctx.emit("probe.happened", {});
          return currentRequestId();
        },
      },
    });
    broker.createService({
      name: "inner",
      actions: {
        async run(ctx: Context<{ wait: number }>) {
          await sleep(ctx.params.wait);
          seen.push({ where: "inner", requestID: ctx.requestID ?? undefined, current: currentRequestId() });
        },
      },
      events: {
        async "probe.happened"(ctx: Context) {
          await sleep(1);
          seen.push({ where: "event", requestID: ctx.requestID ?? undefined, current: currentRequestId() });
        },
        "$probe.internal"(ctx: Context) {
          seen.push({ where: "$event", requestID: ctx.requestID ?? undefined, current: currentRequestId() });
        },
      },
    });
    await broker.start();
  });

  afterAll(() => broker.stop());

  test("actions, the calls they make and the events they emit run in their request's scope, concurrently without mixing", async () => {
    seen.length = 0;
    // Interleaved on purpose: the slower one starts first and finishes last.
    const results = await Promise.all([
      broker.call("outer.run", { wait: 30 }, { requestID: "slow-1" }),
      broker.call("outer.run", { wait: 5 }, { requestID: "fast-2" }),
      broker.call("outer.run", { wait: 15 }), // no id given: moleculer's own (the context id)
    ]);
    expect(results.slice(0, 2)).toEqual(["slow-1", "fast-2"]);
    expect(typeof results[2]).toBe("string");
    await until("nine records (the events arrive after the calls)", () => seen.length >= 9, { timeoutMs: 2000, intervalMs: 5 });
    expect(seen).toHaveLength(9);
    for (const s of seen) expect(s.current).toBe(s.requestID);
    expect(
      seen
        .filter((s) => s.current === "slow-1")
        .map((s) => s.where)
        .sort(),
    ).toEqual(["event", "inner", "outer"]);
    expect(
      seen
        .filter((s) => s.current === "fast-2")
        .map((s) => s.where)
        .sort(),
    ).toEqual(["event", "inner", "outer"]);
    expect(currentRequestId()).toBeUndefined();
  });

  test("moleculer's own $ events are not requests: their handlers get no scope of their own", async () => {
    seen.length = 0;
    broker.broadcastLocal("$probe.internal", {});
    await withRequestId("caused-by", async () => broker.broadcastLocal("$probe.internal", {}));
    expect(seen.map((s) => [s.where, s.current])).toEqual([
      ["$event", undefined],
      ["$event", "caused-by"],
    ]);
  });
});
