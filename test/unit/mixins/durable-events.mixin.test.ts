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
});
