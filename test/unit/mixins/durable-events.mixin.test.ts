/**
 * emitDurable: in a cluster the event goes to the outbox only (its consumers take the durable
 * copy, so no Moleculer event is sent to them as well); in embedded mode the Moleculer event,
 * after the commit, is the only copy.
 */
import { jest } from "@jest/globals";
import { Context, ServiceBroker } from "moleculer";
import type { Transaction } from "sequelize";
import { DurableEventsMixin, type DurableEventMethods, type DurableEventVars } from "../../../mixins/durable-events.mixin.ts";
import type { DurableEvents } from "../../../integrations/messaging/durable-events.ts";
import type { Outbox } from "../../../integrations/messaging/outbox.ts";

type Producer = DurableEventMethods & DurableEventVars;

/** A transaction that runs its after-commit hooks on commit(). */
function fakeTransaction() {
  const hooks: (() => unknown)[] = [];
  const transaction = { afterCommit: (fn: () => unknown) => void hooks.push(fn) } as unknown as Transaction;
  return { transaction, commit: () => hooks.forEach((fn) => fn()) };
}

describe("emitDurable", () => {
  const broker = new ServiceBroker({ logger: false });
  const producer = broker.createService({ name: "producer", mixins: [DurableEventsMixin] }) as unknown as Producer;
  afterAll(() => broker.stop());

  test("embedded: the Moleculer event, once the transaction has committed", async () => {
    const ctx = Context.create(broker);
    const emit = jest.spyOn(ctx, "emit").mockResolvedValue(undefined);
    const { transaction, commit } = fakeTransaction();
    await producer.emitDurable(ctx, "order.created", { n: 1 }, "order.created:1", transaction);
    expect(emit).not.toHaveBeenCalled();
    commit();
    expect(emit).toHaveBeenCalledWith("order.created", { n: 1 });
  });

  test("in a cluster: the outbox row, in the transaction (the outbox publishes it after the commit), and no Moleculer event", async () => {
    const added: [unknown, unknown][] = [];
    producer.durable = {} as DurableEvents;
    producer.outbox = { add: async (m: unknown, t: unknown) => void added.push([m, t]) } as unknown as Outbox;
    try {
      const ctx = Context.create(broker);
      const emit = jest.spyOn(ctx, "emit").mockResolvedValue(undefined);
      const { transaction, commit } = fakeTransaction();
      await producer.emitDurable(ctx, "order.created", { n: 2 }, "order.created:2", transaction);
      expect(added).toEqual([
        [expect.objectContaining({ event: "order.created", payload: { n: 2 }, messageId: "order.created:2" }), transaction],
      ]);
      commit();
      expect(emit).not.toHaveBeenCalled();
    } finally {
      producer.durable = null;
      producer.outbox = null;
    }
  });

  describe("changeWithDurable", () => {
    const change = { sql: "INSERT INTO things (id) VALUES ($1)", bind: ["t1"] };
    const withDb = (query: (...a: unknown[]) => Promise<unknown>) =>
      Object.assign(producer, { adapter: { db: { query } } }) as unknown as Producer;
    afterEach(() => {
      Object.assign(producer, { adapter: undefined, durable: null, outbox: null });
    });

    test("embedded: the statement alone (no transaction), then the Moleculer event", async () => {
      const ran: unknown[][] = [];
      const service = withDb(async (...a) => void ran.push(a));
      const ctx = Context.create(broker);
      const emit = jest.spyOn(ctx, "emit").mockResolvedValue(undefined);
      expect(await service.changeWithDurable(ctx, change, "order.created", { n: 1 }, "order.created:1", Date.now() + 1000)).toBe(true);
      expect(ran).toEqual([[change.sql, expect.objectContaining({ bind: ["t1"], retry: { max: 1 } })]]);
      expect(emit).toHaveBeenCalledWith("order.created", { n: 1 });
    });

    test("in a cluster: one statement with the outbox row; where the outbox cannot combine (SQLite), nothing is done", async () => {
      const service = withDb(async () => undefined);
      const addWith = jest.fn(async () => ({ id: 1 }));
      service.durable = {} as DurableEvents;
      service.outbox = { combines: true, addWith } as unknown as Outbox;
      const ctx = Context.create(broker);
      const emit = jest.spyOn(ctx, "emit").mockResolvedValue(undefined);
      expect(await service.changeWithDurable(ctx, change, "order.created", { n: 2 }, "order.created:2", Date.now() + 1000)).toBe(true);
      expect(addWith).toHaveBeenCalledWith(change, expect.objectContaining({ event: "order.created", messageId: "order.created:2" }), {
        max: 1,
      });
      service.outbox = { combines: false, addWith } as unknown as Outbox;
      expect(await service.changeWithDurable(ctx, change, "order.created", { n: 3 }, "order.created:3", Date.now() + 1000)).toBe(false);
      expect(addWith).toHaveBeenCalledTimes(1);
      expect(emit).not.toHaveBeenCalled();
    });
  });
});
