/**
 * Moving a consumer group's queues from classic queues (what versions before quorum queues
 * declared) to quorum queues without losing a message. RabbitMQ cannot change a queue's type,
 * and a queue that does not exist drops what is routed to it, so the queues are swapped behind
 * a holding queue:
 *
 *   1. `<queue>.migrating` (quorum) is bound to the exchange with the group's patterns, and the
 *      old queue unbound: events published from now on wait in the holding queue.
 *   2. Every old queue of the group (retry queues first, then the group's queue, then the dead
 *      letters) is emptied, message by message with publisher confirms, into the holding queue
 *      (dead letters into `<queue>.dead.migrating`), then deleted.
 *   3. The quorum queues are declared (integrations/messaging/durable-events.ts consumerGroupQueues) and bound; the
 *      holding queue is unbound, emptied into them and deleted.
 *
 * The group's consumers (mail, storage nodes) must be stopped meanwhile (they publish to the
 * retry queues, and could not declare the new ones); producers may keep running. Running it
 * again after an interruption finishes the job; on quorum queues it changes nothing. An event
 * published during step 3 may arrive twice: consumers recognise repeats by their messageId.
 */
import type { Channel, ChannelModel, ConfirmChannel } from "amqplib";
import { connectAny, amqpUrls } from "./amqp-connect.ts";
import { consumerGroupQueues, type ConsumerGroup, type QueueSpec } from "./durable-events.ts";

export interface MigrationReport {
  group: string;
  /** Queues that were classic (or had other arguments) and are quorum queues now. */
  migrated: string[];
  /** Messages moved (each counted once per move). */
  moved: number;
}

async function withChannel<T>(connection: ChannelModel, fn: (ch: Channel) => Promise<T>): Promise<T> {
  const ch = await connection.createChannel();
  ch.on("error", () => undefined); // a refused operation closes the channel; fn's promise rejects with the reason
  try {
    return await fn(ch);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

const exists = (connection: ChannelModel, name: string) =>
  withChannel(connection, async (ch) => {
    await ch.checkQueue(name);
    return true;
  }).catch(() => false);

/** Whether `spec` can be declared as it is (a quorum queue with these arguments, or no queue yet: then it is now). */
const declarable = (connection: ChannelModel, spec: QueueSpec) =>
  withChannel(connection, async (ch) => {
    await ch.assertQueue(spec.name, { durable: true, arguments: spec.arguments });
    return true;
  }).catch((err: Error) => {
    if (/PRECONDITION_FAILED|inequivalent/i.test(err.message)) return false;
    throw err;
  });

/** Move every message of `from` to `to` (by the default exchange), confirmed before each batch is acknowledged. */
async function move(connection: ChannelModel, from: string, to: string): Promise<number> {
  const ch: ConfirmChannel = await connection.createConfirmChannel();
  let moved = 0;
  try {
    for (;;) {
      let last = null;
      let batch = 0;
      for (; batch < 100; batch++) {
        const msg = await ch.get(from, { noAck: false });
        if (!msg) break;
        const { headers, messageId, contentType, timestamp, correlationId, type } = msg.properties;
        ch.sendToQueue(to, msg.content, { persistent: true, headers, messageId, contentType, timestamp, correlationId, type });
        last = msg;
      }
      if (!last) return moved;
      await ch.waitForConfirms();
      ch.ack(last, true);
      moved += batch;
      if (batch < 100) return moved;
    }
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** Migrate one consumer group of `namespace` (bound to `<namespace>.events` with `patterns`). */
export async function migrateGroupToQuorum(
  url: string | string[],
  namespace: string,
  group: ConsumerGroup,
  patterns: string[],
  log: (line: string) => void = () => undefined,
): Promise<MigrationReport> {
  const { connection } = await connectAny(amqpUrls(url), 0, { clientProperties: { connection_name: `migrate-queues ${namespace}` } });
  connection.on("error", () => undefined); // surfaces as the failed operation's error
  const exchange = `${namespace}.events`;
  const specs = consumerGroupQueues(namespace, group);
  const main = specs[0]!;
  const dead = specs.at(-1)!;
  const holding = `${main.name}.migrating`;
  const deadHolding = `${dead.name}.migrating`;
  const report: MigrationReport = { group: group.group, migrated: [], moved: 0 };
  try {
    const old: QueueSpec[] = [];
    for (const spec of specs) if (!(await declarable(connection, spec))) old.push(spec);
    const unfinished = (await exists(connection, holding)) || (await exists(connection, deadHolding));
    if (old.length === 0 && !unfinished) {
      log(`${group.group}: already quorum queues; nothing to do.`);
      return report;
    }
    await withChannel(connection, async (ch) => {
      await ch.assertExchange(exchange, "topic", { durable: true });
      for (const name of [holding, deadHolding]) await ch.assertQueue(name, { durable: true, arguments: { "x-queue-type": "quorum" } });
      // 1. New events wait in the holding queue.
      for (const pattern of patterns) await ch.bindQueue(holding, exchange, pattern);
      if (old.includes(main)) for (const pattern of patterns) await ch.unbindQueue(main.name, exchange, pattern);
    });
    // 2. Empty the old queues (retry queues, the group's queue, the dead letters), then delete them.
    const order = [...old.filter((s) => s !== main && s !== dead), ...old.filter((s) => s === main), ...old.filter((s) => s === dead)];
    for (const spec of order) {
      const n = await move(connection, spec.name, spec === dead ? deadHolding : holding);
      report.moved += n;
      await withChannel(connection, (ch) => ch.deleteQueue(spec.name));
      report.migrated.push(spec.name);
      log(`${group.group}: ${spec.name} emptied (${n} messages to the holding queue) and deleted.`);
    }
    // 3. The quorum queues, bound; then the holding queues emptied into them.
    await withChannel(connection, async (ch) => {
      for (const spec of specs) await ch.assertQueue(spec.name, { durable: true, arguments: spec.arguments });
      for (const pattern of patterns) await ch.bindQueue(main.name, exchange, pattern);
      for (const pattern of patterns) await ch.unbindQueue(holding, exchange, pattern);
    });
    const back = (await move(connection, holding, main.name)) + (await move(connection, deadHolding, dead.name));
    report.moved += back;
    // Quorum queues have no delete-if-empty: check, then delete (an event routed in between went to both queues: a repeat).
    await withChannel(connection, async (ch) => {
      for (const name of [holding, deadHolding]) {
        const { messageCount } = await ch.checkQueue(name);
        if (messageCount === 0) await ch.deleteQueue(name);
        else log(`${group.group}: ${name} still holds ${messageCount} messages; run the migration again.`);
      }
    });
    log(`${group.group}: ${specs.length} quorum queues in place; ${back} messages moved into them.`);
    return report;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
