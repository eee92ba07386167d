/**
 * For services whose events must reach a consumer that may be down right now (mail).
 *
 * `emitDurable(ctx, event, payload, messageId, transaction)`: in a cluster (TRANSPORTER set),
 * writes the event to the service's transactional outbox
 * (`settings.outboxTable`, integrations/messaging/outbox.ts) in that transaction: the change and its
 * announcement commit together, or neither does. The outbox publishes it to RabbitMQ with a
 * publisher confirm right after the commit, and its poll again after an outage; no Moleculer event is emitted (every consumer takes the
 * durable copy). In embedded mode the Moleculer event, emitted once `transaction` has committed,
 * is all there is: every consumer runs in the same process.
 *
 * Consumers (mail) use `durable` to consume; they declare no outbox table.
 */
import type { Context, ServiceSchema } from "moleculer";
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import type { Mixin } from "../types/moleculer.d.ts";
import { getConfig } from "../lib/config.ts";
import { untilDatabaseAnswers } from "../integrations/database/sequelize.ts";
import { DurableEvents } from "../integrations/messaging/durable-events.ts";
import { Outbox, type OutboxMessage } from "../integrations/messaging/outbox.ts";
import { shopTopology } from "./durable-topology.ts";

/** One SQL statement with its `$1…` binds. */
export interface Statement {
  sql: string;
  bind: readonly unknown[];
}

/** The outbox message of an event, tagged with the request that caused it. */
function messageOf(ctx: Context, event: string, payload: unknown, messageId: string): OutboxMessage {
  return { event, payload, messageId, ...(ctx.requestID ? { requestId: ctx.requestID } : {}) };
}

export interface DurableEventMethods {
  emitDurable(ctx: Context, event: string, payload: unknown, messageId: string, transaction: Transaction): Promise<void>;
  changeWithDurable(ctx: Context, change: Statement, event: string, payload: unknown, messageId: string, until: number): Promise<boolean>;
}

/** What the mixin adds to a service's `this`: RabbitMQ's durable events (null in embedded mode) and the outbox. */
export interface DurableEventVars {
  durable: DurableEvents | null;
  outbox: Outbox | null;
}

/** The service's outbox table (producers only; consumers declare none). */
export interface DurableEventSettings {
  outboxTable?: string;
}

/** Prometheus: shop_outbox_pending{service="orders"}, updated every OUTBOX_POLL_MS. */
export const PENDING_METRIC = "shop.outbox.pending";

/** The db mixin's adapter, when the service has one (producers must). */
type Vars = DurableEventVars & { adapter?: { db: Sequelize } };

const schema: Partial<ServiceSchema<DurableEventSettings, DurableEventMethods, Vars>> = {
  created() {
    const cfg = getConfig();
    this.durable = cfg.transporter ? new DurableEvents(cfg.transporter.urls, cfg.namespace, this.logger) : null;
    this.outbox = null;
  },

  async started() {
    if (!this.durable || !this.settings.outboxTable) return;
    if (!this.adapter?.db) throw new Error("DurableEventsMixin: an outbox needs the service's database (mix in the db mixin first).");
    const metrics = this.broker.metrics;
    if (metrics.isEnabled() && !metrics.hasMetric(PENDING_METRIC)) {
      metrics.register({
        type: "gauge",
        name: PENDING_METRIC,
        labelNames: ["service"],
        unit: "event",
        description: "Durable events committed but not yet confirmed by RabbitMQ",
      });
    }
    this.outbox = new Outbox(this.adapter.db, this.settings.outboxTable, this.durable, this.logger, {
      pollMs: getConfig().outboxPollMs,
      onPending: (count) => metrics.set(PENDING_METRIC, count, { service: this.name }),
    });
    // Every consumer group's queues exist before the first event goes out: an event published
    // while no consumer had ever declared its queue (mail never started yet) would go nowhere.
    for (const group of Object.values(shopTopology(getConfig()))) await this.durable.declareGroup(group, group.patterns);
    this.outbox.start();
    // What waited during a RabbitMQ outage goes out as soon as it is back, not at the next poll.
    this.durable.onReconnected(() => this.outbox?.kick());
  },

  async stopped() {
    await this.outbox?.stop();
    await this.durable?.close();
  },

  methods: {
    async emitDurable(ctx: Context, event: string, payload: unknown, messageId: string, transaction: Transaction) {
      const outbox = this.outbox;
      if (this.durable && !outbox) throw new Error(`emitDurable(${event}): this service declares no settings.outboxTable.`);
      // In a cluster the durable copy, published once the transaction commits, is the only one: its
      // consumers (mail, storage, products) ignore the Moleculer event there, so it would be a message for nothing.
      if (outbox) await outbox.add(messageOf(ctx, event, payload, messageId), transaction);
      else transaction.afterCommit(() => ctx.emit(event, payload));
    },

    /**
     * A change that is one statement and the durable event announcing it, committed together
     * without a transaction (no START and COMMIT round trips): in a cluster on PostgreSQL as one
     * statement with the outbox row (Outbox.addWith), published right after; in embedded mode
     * the statement, then the Moleculer event. The statement is tried again while the database
     * is unreachable, until `until` (ms since the epoch): a try after a lost answer meets its
     * own first write (a unique key) and fails, as a transaction run twice would. False, with
     * nothing done, where it cannot be one statement (a cluster on SQLite): use a transaction
     * and emitDurable.
     */
    async changeWithDurable(ctx: Context, change: Statement, event: string, payload: unknown, messageId: string, until: number) {
      const { outbox } = this;
      const db = this.adapter?.db;
      if (!db || (this.durable && !outbox?.combines)) return false;
      const once = { max: 1 }; // the tries are counted here, against `until`
      const message = messageOf(ctx, event, payload, messageId);
      const write = async (): Promise<unknown> =>
        outbox
          ? outbox.addWith(change, message, once)
          : db.query(change.sql, { bind: [...change.bind], type: QueryTypes.INSERT, retry: once });
      await untilDatabaseAnswers(write, Math.max(0, until - Date.now()));
      if (!outbox) ctx.emit(event, payload);
      return true;
    },
  },
};

export const DurableEventsMixin: Mixin = schema;
