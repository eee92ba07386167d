/**
 * mail: turns durable events (user.*, order.*) into e-mails (integrations/email).
 *
 * Delivery guarantee. In a cluster, producers publish these events persistently to
 * RabbitMQ with publisher confirms; every mail replica consumes one shared durable queue
 * with manual acks, so a message waits while no mail node runs and goes to exactly one
 * replica at a time. A failed send is retried with exponential backoff, then parked in a
 * dead-letter queue and listed at GET /api/mail/failed. Each message has an id, and the
 * delivery log (mail_deliveries) records it as sent: a redelivered message is not sent
 * again; one held by a consumer that died is taken over once that consumer is gone (takeOver).
 * The one window for a duplicate is a node dying after it handed the message to the SMTP
 * server and before the log write. In embedded mode (no RabbitMQ) delivery is in-process.
 * The log keeps a message's payload only while a retry may need it (failed, dead): the retry
 * queue and a redelivery carry the message itself, the dead-letter retry reads it from the row.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Context, Service, ServiceSchema } from "moleculer";
import { DataTypes, Op, Sequelize } from "sequelize";
import type { ShopMeta } from "../types/moleculer.d.ts";
import { getConfig } from "../lib/config.ts";
import { conflict, notFound } from "../lib/errors.ts";
import { DbMixin, type DbMethods, type DbVars } from "../mixins/db.mixin.ts";
import { untilDatabaseAnswers } from "../integrations/database/sequelize.ts";
import { DurableEventsMixin, type DurableEventMethods, type DurableEventVars } from "../mixins/durable-events.mixin.ts";
import { DeferDelivery, type DurableMessage } from "../integrations/messaging/durable-events.ts";
import { shopTopology } from "../mixins/durable-topology.ts";
import { createMailer, notificationFor, NOTIFIED_EVENTS, type Mailer } from "../integrations/email/index.ts";
import { PAGE_PARAMS } from "../lib/listing.ts";
import { deliveryLog, type DeliveryLog } from "./mail/delivery-log.ts";

const cfg = getConfig();

/** A delivery-log row as `GET /api/mail/failed` shows it. */
interface Delivery {
  id: string;
  event: string;
  template: string | null;
  recipient: string | null;
  subject: string | null;
  status: "sending" | "sent" | "failed" | "queued" | "dead";
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface MailSettings {
  rest: string;
}
interface MailMethods extends DbMethods<Delivery>, DurableEventMethods {
  deliver(message: DurableMessage): Promise<void>;
  takeOver(message: DurableMessage): Promise<"mine" | "done">;
  consumerAlive(owner: string): boolean;
  deliverLocally(message: DurableMessage): Promise<void>;
  deliverInBackground(message: DurableMessage): void;
  markDead(message: DurableMessage, error: string): Promise<void>;
}
interface MailVars extends DbVars, DurableEventVars {
  mailer: Mailer;
  deliveries: DeliveryLog;
  /** Embedded mode: deliveries in progress, which a stopping node lets finish. */
  local: Set<Promise<void>>;
  /** Aborted when the node stops: no embedded delivery waits for its next attempt then. */
  stopping: AbortController;
}
type Self = Service<MailSettings> & MailMethods & MailVars;

/** How long a stopping node waits for its embedded deliveries in progress (the broker's shutdown timeout). */
const STOP_WAIT_MS = 10_000;

/** A "sending" mark older than this belongs to a consumer that died mid-send. */
const SENDING_TIMEOUT_MS = 5 * 60_000;

/** This process as a mail consumer: its node and the instance (a restarted node has a new one). */
function ownerOf(broker: Service["broker"]): string {
  return `${broker.nodeID}:${broker.instanceID}`;
}

const FAILED_FIELDS = ["id", "event", "template", "recipient", "subject", "status", "attempts", "lastError", "createdAt", "updatedAt"];

const MailService: ServiceSchema<MailSettings, MailMethods, MailVars> = {
  name: "mail",
  mixins: [
    DurableEventsMixin,
    DbMixin<Delivery>({
      table: "mail_deliveries",
      attributes: {
        id: { type: DataTypes.STRING(200), primaryKey: true },
        event: { type: DataTypes.STRING(64), allowNull: false },
        template: { type: DataTypes.STRING(64) },
        recipient: { type: DataTypes.STRING(254) },
        subject: { type: DataTypes.STRING(255) },
        status: { type: DataTypes.STRING(16), allowNull: false },
        attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        lastError: { type: DataTypes.TEXT },
        // Kept while a retry may need it (failed, dead); a sent message's record needs only its id and status.
        payload: { type: DataTypes.JSON, allowNull: true },
        sentAt: { type: DataTypes.DATE },
        // `<nodeID>:<instanceID>` of the consumer that claimed it (deliver).
        owner: { type: DataTypes.STRING(200) },
      },
      publicFields: FAILED_FIELDS,
      sortable: ["updatedAt", "createdAt"],
      defaultSort: "-updatedAt",
    }),
  ],

  settings: { rest: "/mail" },

  created() {
    this.local = new Set();
  },

  async started() {
    this.stopping = new AbortController();
    this.mailer = createMailer(cfg.mail);
    this.deliveries = deliveryLog(this.adapter.db);
    if (this.durable) {
      await this.durable.consume({
        ...shopTopology(cfg).mail,
        prefetch: cfg.mail.concurrency,
        handle: (message) => this.deliver(message),
        onDead: (message, error) => this.markDead(message, error),
        logger: this.logger,
      });
      this.logger.info(`Mail: consuming durable events from RabbitMQ; sending via ${this.mailer.kind}.`);
    } else {
      this.logger.info(
        `Mail: embedded delivery; ${this.mailer.kind === "outbox" ? `messages go to ${cfg.mail.outboxDir}` : "sending via SMTP"}.`,
      );
    }
  },

  async stopped() {
    // Embedded deliveries in progress finish before the SMTP pool and (after this handler) the
    // database close: a node stopped right after a checkout still sends its confirmation once
    // and records it. One waiting for its next attempt is parked as dead instead (deliverLocally).
    this.stopping.abort();
    await Promise.race([Promise.allSettled(this.local), sleep(STOP_WAIT_MS, undefined, { ref: false })]);
    this.mailer?.close();
  },

  // Embedded mode only: in a cluster the durable queue is the one way in (no double sends).
  events: Object.fromEntries(
    NOTIFIED_EVENTS.map((event) => [
      event,
      {
        handler(this: Self, ctx: Context<unknown>) {
          if (this.durable) return;
          this.deliverInBackground({
            event,
            payload: ctx.params,
            messageId: `${event}:${ctx.id}`,
            attempt: 0,
            publishedAt: new Date().toISOString(),
          });
        },
      },
    ]),
  ),

  actions: {
    failed: {
      rest: "GET /failed",
      access: "admin",
      params: {
        $$strict: true,
        page: PAGE_PARAMS.page,
        pageSize: PAGE_PARAMS.pageSize,
      },
      handler(this: Self, ctx: Context<{ page?: number; pageSize?: number }>) {
        return this.pageOf(this.adapter.model, {
          ...ctx.params,
          where: { status: "dead" },
          attributes: FAILED_FIELDS,
          order: [
            ["updatedAt", "DESC"],
            ["id", "ASC"],
          ],
        });
      },
    },

    retry: {
      rest: "POST /failed/:id/retry",
      access: "admin",
      params: { $$strict: true, id: { type: "string", max: 200 } },
      async handler(this: Self, ctx: Context<{ id: string }, ShopMeta>) {
        const row = await this.adapter.model.findByPk(ctx.params.id);
        if (!row) throw notFound("Failed message", ctx.params.id);
        const d = row.get({ plain: true }) as { id: string; event: string; payload: unknown; status: string };
        if (d.status !== "dead") throw conflict(`Only dead-lettered messages can be retried (this one is ${d.status}).`, "NOT_DEAD");
        if (d.payload === null || d.payload === undefined) throw conflict("The message's content was not kept.", "NOT_DEAD");
        const [claimed] = await this.adapter.model.update(
          { status: "queued", attempts: 0, lastError: null },
          { where: { id: d.id, status: "dead" } },
        );
        if (claimed !== 1) throw conflict("The message is being retried already.", "NOT_DEAD");
        const message: DurableMessage = {
          event: d.event,
          payload: d.payload,
          messageId: d.id,
          attempt: 0,
          publishedAt: new Date().toISOString(),
        };
        if (this.durable) await this.durable.requeue("mail", message);
        else this.deliverInBackground(message);
        ctx.meta.$statusCode = 202;
        return { id: d.id, status: "queued" };
      },
    },
  },

  methods: {
    /** Send one message unless the delivery log says it went out already. Throws to retry. */
    async deliver(this: Self, message: DurableMessage) {
      const note = notificationFor(message.event, message.payload);
      if (!note) return;
      const log = this.adapter.model;
      const claim = {
        id: message.messageId,
        event: message.event,
        template: note.template,
        recipient: note.to,
        subject: note.subject,
        owner: ownerOf(this.broker),
      };
      if (!(await this.deliveries.claim(claim)) && (await this.takeOver(message)) === "done") return;
      let info: { path?: string };
      try {
        info = await this.mailer.send({ id: message.messageId, to: note.to, subject: note.subject, text: note.text, html: note.html });
      } catch (err) {
        // Not sent: the next attempt may take it over (a compare-and-set from "failed").
        await untilDatabaseAnswers(
          () =>
            log.update(
              { status: "failed", lastError: String((err as Error).message).slice(0, 2000), payload: message.payload },
              { where: { id: message.messageId } },
            ),
          SENDING_TIMEOUT_MS,
        );
        throw err;
      }
      // Sent: from here on only recording it remains, and that must not fail the delivery (a
      // redelivery would send it again) nor be given up while the database restarts. The message
      // stays unacknowledged meanwhile; a node that dies now leaves a "sending" row, the one
      // window for a duplicate (taken over once this consumer is gone: takeOver).
      await untilDatabaseAnswers(() => this.deliveries.markSent(message.messageId), SENDING_TIMEOUT_MS);
      this.logger.info(`Mail ${note.template} to ${note.to} sent${info.path ? `: ${info.path}` : ""}.`);
    },

    /**
     * A message seen before: take it over with a compare-and-set after a failed attempt, after a
     * retry from the dead letters, or from a consumer that is gone (its process is no longer in
     * the registry: it died while the message was claimed or on its way) or that has held it for
     * SENDING_TIMEOUT_MS. A consumer that is gone may have handed it to the mail server already:
     * that is the one window for a duplicate. Held by a live consumer (a redelivery that came
     * before the registry noticed its consumer's death, or after its consumer lost only its
     * channel): deferred, without using up an attempt.
     */
    async takeOver(this: Self, message: DurableMessage) {
      const log = this.adapter.model;
      const row = (await log.findByPk(message.messageId, { attributes: ["status", "owner", "updatedAt"], raw: true })) as {
        status: Delivery["status"];
        owner: string | null;
        updatedAt: Date | string;
      } | null;
      if (row?.status === "sent" || row?.status === "dead") {
        this.logger.info(`Mail ${message.messageId} is ${row.status} already; redelivery ignored.`);
        return "done";
      }
      const stale = new Date(Date.now() - SENDING_TIMEOUT_MS);
      const gone = row?.status === "sending" && row.owner !== null && !this.consumerAlive(row.owner);
      const [owned] = await log.update(
        { status: "sending", owner: ownerOf(this.broker), attempts: Sequelize.literal("attempts + 1") },
        {
          where: {
            id: message.messageId,
            [Op.or]: [
              { status: ["failed", "queued"] },
              { status: "sending", updatedAt: { [Op.lt]: stale } },
              ...(gone ? [{ status: "sending", owner: row.owner }] : []),
            ],
          },
        },
      );
      if (owned === 1) {
        if (gone) this.logger.warn(`Mail ${message.messageId}: its consumer ${row.owner} is gone; sending it.`);
        return "mine";
      }
      throw new DeferDelivery(`mail ${message.messageId} is held by ${row?.owner ?? "another consumer"}`);
    },

    /** Whether the consumer `<nodeID>:<instanceID>` still runs: this process, or a node the registry knows as that instance. */
    consumerAlive(this: Self, owner: string) {
      if (owner === ownerOf(this.broker)) return true;
      const at = owner.lastIndexOf(":");
      const node = this.broker.registry.nodes.get(owner.slice(0, at)) as { available: boolean; instanceID: string | null } | undefined;
      return node !== undefined && node.available && node.instanceID === owner.slice(at + 1);
    },

    /**
     * Embedded mode: the same delivery with in-process retries and backoff. A message still to
     * be tried when the node stops is parked as dead (GET /api/mail/failed lists it, and it can
     * be retried from there): nothing else would try it again.
     */
    async deliverLocally(this: Self, message: DurableMessage) {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.deliver(message);
          return;
        } catch (err) {
          const error = (err as Error).message;
          if (attempt >= cfg.mail.maxAttempts) return this.markDead({ ...message, attempt }, error);
          const stopped = await sleep(cfg.mail.retryBaseMs * 2 ** (attempt - 1), false, { signal: this.stopping.signal }).catch(() => true);
          if (stopped) return this.markDead({ ...message, attempt }, `${error} (the node stopped before attempt ${attempt + 1})`);
        }
      }
    },

    /** Embedded mode: deliver without holding up the caller; a stopping node waits for it (stopped). */
    deliverInBackground(this: Self, message: DurableMessage) {
      const delivery = this.deliverLocally(message).catch((err: unknown) => {
        this.logger.warn(`Mail ${message.messageId} left undelivered:`, err);
      });
      this.local.add(delivery);
      void delivery.finally(() => this.local.delete(delivery));
    },

    async markDead(this: Self, message: DurableMessage, error: string) {
      const [updated] = await this.adapter.model.update(
        { status: "dead", lastError: error.slice(0, 2000), attempts: message.attempt, payload: message.payload },
        { where: { id: message.messageId, status: { [Op.ne]: "sent" } } },
      );
      if (updated === 0 && !(await this.adapter.model.findByPk(message.messageId))) {
        // It failed before it was logged (e.g. an unknown template): log it now so it can be seen.
        await this.adapter.model.create({
          id: message.messageId,
          event: message.event,
          status: "dead",
          attempts: message.attempt,
          lastError: error.slice(0, 2000),
          payload: message.payload,
        });
      }
    },
  },
};

export default MailService;
