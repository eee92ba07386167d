/**
 * A transactional outbox: a durable event is a row written in the same database transaction
 * as the change it announces, so the change and its announcement commit together or not at
 * all. A relay publishes the rows to RabbitMQ in order (integrations/messaging/durable-events.ts, publisher
 * confirms) and deletes each one once RabbitMQ has confirmed it.
 *
 *   change + INSERT outbox row ──commit──► kick ──► relay: SELECT … FOR UPDATE SKIP LOCKED
 *                                                      ──publish, confirm──► DELETE rows
 *
 * The relay runs right after each commit and every `pollMs` (rows left by a RabbitMQ outage
 * or a crash between commit and publish). Replicas share the table: on PostgreSQL each row is
 * locked by the one relay publishing it (SKIP LOCKED), so replicas neither wait for nor repeat
 * each other's work. Delivery stays at least once (a crash after the confirm and before the
 * DELETE publishes a row again), and consumers recognise a repeat by its messageId.
 */
import { DataTypes, type Model, type ModelStatic, type Sequelize, type Transaction } from "sequelize";
import { withRequestId } from "../../lib/request-id.ts";

export interface OutboxMessage {
  event: string;
  payload: unknown;
  messageId: string;
  requestId?: string;
}

export interface Publisher {
  publish(event: string, payload: unknown, messageId: string, attempt: number, requestId?: string): Promise<void>;
}

interface Logger {
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
}

export interface OutboxOptions {
  /** How often to look for rows the kick after commit did not publish. */
  pollMs?: number;
  /** Rows per relay transaction. */
  batchSize?: number;
  /** After each poll: how many messages wait (for a metric; a backlog that grows means trouble). */
  onPending?: (count: number) => void;
}

interface Row extends OutboxMessage {
  id: number | string;
}

export class Outbox {
  private readonly model: ModelStatic<Model>;
  private readonly db: Sequelize;
  private readonly publisher: Publisher;
  private readonly logger: Logger;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly onPending: ((count: number) => void) | undefined;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private failing = false;

  constructor(
    db: Sequelize,
    table: string,
    publisher: Publisher,
    logger: Logger,
    { pollMs = 2000, batchSize = 100, onPending }: OutboxOptions = {},
  ) {
    this.db = db;
    this.publisher = publisher;
    this.logger = logger;
    this.pollMs = pollMs;
    this.batchSize = batchSize;
    this.onPending = onPending;
    this.model = db.define(
      `${table}_row`,
      {
        id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
        messageId: { type: DataTypes.STRING(200), allowNull: false },
        event: { type: DataTypes.STRING(64), allowNull: false },
        payload: { type: DataTypes.JSON, allowNull: false },
        requestId: { type: DataTypes.STRING(128), allowNull: true },
      },
      { tableName: table, timestamps: true, updatedAt: false },
    );
  }

  /** Write a message; inside `transaction` it exists only if that transaction commits. */
  async add(message: OutboxMessage, transaction?: Transaction): Promise<void> {
    await this.model.create({ ...message, requestId: message.requestId ?? null }, { transaction });
  }

  /** Publish what is waiting, soon (coalesces concurrent kicks into one more pass). */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = withRequestId(undefined, async () => {
      try {
        do {
          this.again = false;
          await this.relay();
        } while (this.again);
        if (this.failing) this.logger.info(`Outbox ${this.model.tableName}: publishing again.`);
        this.failing = false;
      } catch (err) {
        // Once per outage, not every poll; the rows wait for the next pass.
        if (!this.failing)
          this.logger.warn(
            `Outbox ${this.model.tableName}: could not relay (${(err as Error).message}); retrying every ${this.pollMs} ms.`,
          );
        this.failing = true;
      } finally {
        this.running = null;
      }
    });
  }

  /** Relay now and every `pollMs` until stopped. */
  start(): void {
    const poll = async () => {
      this.kick();
      await this.running;
      if (this.onPending && this.timer) this.onPending(await this.pending());
    };
    this.timer ??= setInterval(() => void poll().catch(() => undefined), this.pollMs);
    this.timer.unref();
    void poll().catch(() => undefined);
  }

  /** Stop polling and wait for a relay pass in progress (rows not yet published stay for the next start). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.again = false;
    await this.running;
  }

  /** How many messages wait to be published. */
  pending(): Promise<number> {
    return this.model.count();
  }

  /** Publish waiting rows in order until none are left; throws when RabbitMQ or the database refuses. */
  async relay(): Promise<number> {
    let total = 0;
    for (;;) {
      const published = await this.relayBatch();
      total += published.count;
      if (published.error) throw published.error;
      if (published.count < this.batchSize) return total;
    }
  }

  private async relayBatch(): Promise<{ count: number; error?: Error }> {
    const postgres = this.db.getDialect() === "postgres";
    return this.db.transaction(async (transaction) => {
      const found = await this.model.findAll({
        order: [["id", "ASC"]],
        limit: this.batchSize,
        transaction,
        ...(postgres ? { lock: transaction.LOCK.UPDATE, skipLocked: true } : {}),
      });
      const rows = found.map((r) => r.get({ plain: true }) as Row);
      const done: Row["id"][] = [];
      let error: Error | undefined;
      for (const row of rows) {
        try {
          await this.publisher.publish(row.event, row.payload, row.messageId, 0, row.requestId ?? undefined);
          done.push(row.id);
        } catch (err) {
          error = err as Error;
          break;
        }
      }
      // What RabbitMQ confirmed goes, also when a later row failed (it would only be a repeat).
      if (done.length) await this.model.destroy({ where: { id: done }, transaction });
      return { count: done.length, error };
    });
  }
}
