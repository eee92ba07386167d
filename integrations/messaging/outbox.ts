/**
 * A transactional outbox: a durable event is a row written in the same database transaction
 * as the change it announces, so the change and its announcement commit together or not at
 * all. Once that transaction has committed, the rows it wrote (their ids are known) are
 * published to RabbitMQ (integrations/messaging/durable-events.ts, publisher confirms) and deleted
 * with one `DELETE … WHERE id IN (…)` once RabbitMQ has confirmed them: no transaction of its own
 * (rows confirmed within deleteAfterMs of each other, or while a DELETE runs, go together).
 *
 *   change + INSERT outbox row ──commit──► publish those rows, confirm ──► DELETE them
 *   every pollMs: SELECT rows older than leftoverMs … FOR UPDATE SKIP LOCKED ──publish──► DELETE
 *
 * The poll relays what the publish after the commit left: rows of a node that crashed between
 * commit and publish, or whose DELETE failed. While RabbitMQ is unreachable, new rows are not
 * published one by one: the poll (and a kick on reconnection) relays every waiting row in id
 * order. Replicas share the table: on PostgreSQL each polled row is locked by the one relay
 * publishing it (SKIP LOCKED). Delivery stays at least once (a crash after the confirm and
 * before the DELETE, or a poll that takes a row whose publish after commit is slower than
 * leftoverMs, publishes a row again), and consumers recognise a repeat by its messageId.
 */
import { DataTypes, Op, QueryTypes, type Model, type ModelStatic, type Sequelize, type Transaction } from "sequelize";
import { withRequestId } from "../../lib/request-id.ts";
import { bindPlaceholders, sqlTimestamp } from "../database/sequelize.ts";

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
  /** The poll takes rows at least this old (younger ones are being published after their commit). */
  leftoverMs?: number;
  /** After each poll: how many messages wait (for a metric; a backlog that grows means trouble). */
  onPending?: (count: number) => void;
  /**
   * A confirmed row waits this long for others before its DELETE (default 25 ms): at a few
   * hundred checkouts a second one DELETE then takes the rows of several instead of about one
   * each. Far below leftoverMs, so no poll takes a row waiting here; nothing waits for it but a
   * stopping node.
   */
  deleteAfterMs?: number;
}

/** A written message and its row's id. */
export interface OutboxRow extends OutboxMessage {
  id: number | string;
}
type Row = OutboxRow;

/** The id an INSERT answered: rows (PostgreSQL, `RETURNING id`) or the last id (SQLite). */
function insertedId(result: unknown): number | string {
  if (typeof result === "number") return result;
  const first: unknown = Array.isArray(result) ? result[0] : undefined;
  if (first && typeof first === "object" && "id" in first && (typeof first.id === "string" || typeof first.id === "number"))
    return first.id;
  throw new Error("The outbox INSERT answered no id.");
}

export class Outbox {
  private readonly model: ModelStatic<Model>;
  private readonly db: Sequelize;
  private readonly publisher: Publisher;
  private readonly logger: Logger;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly leftoverMs: number;
  private readonly deleteAfterMs: number;
  private readonly onPending: ((count: number) => void) | undefined;
  private readonly table: string;
  private readonly columns = `"messageId", event, payload, "requestId", "createdAt"`;
  private readonly insertSql: string;
  /** Rows written in each open transaction, published once it commits. */
  private readonly written = new WeakMap<Transaction, Row[]>();
  /** Ids published and confirmed, waiting for their DELETE (deleteConfirmed). */
  private readonly confirmed: Row["id"][] = [];
  private deleting: Promise<void> | null = null;
  /** Publishes after commit still running (stop waits for them). */
  private readonly publishing = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** A kick for every row (not only leftovers) came while a pass was running. */
  private againAll = false;
  private failing = false;

  constructor(
    db: Sequelize,
    table: string,
    publisher: Publisher,
    logger: Logger,
    { pollMs = 2000, batchSize = 100, leftoverMs = 5000, onPending, deleteAfterMs = 25 }: OutboxOptions = {},
  ) {
    this.deleteAfterMs = deleteAfterMs;
    this.db = db;
    this.table = table;
    this.leftoverMs = leftoverMs;
    const returning = db.getDialect() === "postgres" ? " RETURNING id" : "";
    this.insertSql = `INSERT INTO "${table}" (${this.columns}) VALUES ($1, $2, $3, $4, $5)${returning}`;
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

  /**
   * Write a message (one INSERT); inside `transaction` it exists only if that transaction
   * commits, and is published right after the commit.
   */
  async add(message: OutboxMessage, transaction?: Transaction): Promise<OutboxRow> {
    const [inserted] = await this.db.query(this.insertSql, {
      bind: this.bindOf(message),
      type: QueryTypes.INSERT,
      transaction,
    });
    const row: Row = { ...message, id: insertedId(inserted) };
    if (transaction) this.publishOnCommit(transaction, row);
    return row;
  }

  /** Can a change and its message be written as one statement (addWith)? PostgreSQL only (a data-modifying WITH). */
  get combines(): boolean {
    return this.db.getDialect() === "postgres";
  }

  /**
   * A change that is one statement (`change.sql` with its `$1…` binds) and the message that
   * announces it, written together as one statement, `WITH change AS (…) INSERT INTO <outbox> …`:
   * atomic without a transaction. The message is published right after. `retry` is the
   * statement's (Sequelize's `retry` options, e.g. `{ max: 1 }` when the caller retries).
   */
  async addWith(change: { sql: string; bind: readonly unknown[] }, message: OutboxMessage, retry?: { max: number }): Promise<OutboxRow> {
    const values = bindPlaceholders(5, change.bind.length + 1);
    const sql = `WITH change AS (${change.sql}) INSERT INTO "${this.table}" (${this.columns}) VALUES (${values}) RETURNING id`;
    const [inserted] = await this.db.query(sql, {
      bind: [...change.bind, ...this.bindOf(message)],
      type: QueryTypes.INSERT,
      ...(retry ? { retry } : {}),
    });
    const row: Row = { ...message, id: insertedId(inserted) };
    this.track(this.publishRows([row]));
    return row;
  }

  private bindOf(message: OutboxMessage): unknown[] {
    return [message.messageId, message.event, JSON.stringify(message.payload), message.requestId ?? null, sqlTimestamp(new Date())];
  }

  private track(publish: Promise<unknown>): void {
    const done = publish.catch(() => undefined);
    this.publishing.add(done);
    void done.finally(() => this.publishing.delete(done));
  }

  private publishOnCommit(transaction: Transaction, row: Row): void {
    const rows = this.written.get(transaction);
    if (rows) {
      rows.push(row);
      return;
    }
    this.written.set(transaction, [row]);
    transaction.afterCommit(() => {
      const committed = this.written.get(transaction) ?? [];
      this.written.delete(transaction);
      this.track(this.publishRows(committed));
    });
  }

  /**
   * Publish these committed rows in order and delete the confirmed ones (one DELETE). While
   * RabbitMQ is failing nothing is published here: the poll relays every waiting row, in order.
   * Returns how many were published.
   */
  async publishRows(rows: readonly OutboxRow[]): Promise<number> {
    if (this.failing || rows.length === 0) return 0;
    const { done, error } = await this.publishInOrder(rows);
    if (error) this.failed(error);
    // What RabbitMQ confirmed goes, also when a later row failed (it would only be a repeat).
    if (done.length) await this.deleteConfirmed(done);
    return done.length;
  }

  /** Publish rows in order until one fails: the ids RabbitMQ confirmed, and the error that stopped it. */
  private async publishInOrder(rows: readonly Row[]): Promise<{ done: Row["id"][]; error?: Error }> {
    const done: Row["id"][] = [];
    for (const row of rows) {
      try {
        await this.publisher.publish(row.event, row.payload, row.messageId, 0, row.requestId ?? undefined);
      } catch (err) {
        return { done, error: err as Error };
      }
      done.push(row.id);
    }
    return { done };
  }

  /**
   * Delete confirmed rows, in batches: while one DELETE runs, the ids confirmed meanwhile (other
   * transactions' rows) wait and go together in the next one. Resolves once `ids` are deleted
   * (or their DELETE failed: then the poll publishes them again).
   */
  private deleteConfirmed(ids: readonly Row["id"][]): Promise<void> {
    this.confirmed.push(...ids);
    this.deleting ??= this.deleteWaiting();
    return this.deleting;
  }

  private async deleteWaiting(): Promise<void> {
    try {
      await new Promise((resolve) => setTimeout(resolve, this.deleteAfterMs));
      while (this.confirmed.length) {
        const ids = this.confirmed.splice(0, this.batchSize);
        await this.deleteRows(ids).catch((err: unknown) =>
          this.logger.warn(`Outbox ${this.table}: published rows not deleted (${(err as Error).message}); the poll publishes them again.`),
        );
      }
    } finally {
      this.deleting = null;
    }
  }

  private deleteRows(ids: readonly Row["id"][], transaction?: Transaction): Promise<unknown> {
    return this.db.query(`DELETE FROM "${this.table}" WHERE id IN (${bindPlaceholders(ids.length)})`, {
      bind: [...ids],
      type: QueryTypes.BULKDELETE,
      transaction,
    });
  }

  /** Once per outage, not every poll; the rows wait for the next pass. */
  private failed(err: unknown): void {
    if (!this.failing)
      this.logger.warn(`Outbox ${this.table}: could not relay (${(err as Error).message}); retrying every ${this.pollMs} ms.`);
    this.failing = true;
  }

  /**
   * Publish what is waiting, soon (coalesces concurrent kicks into one more pass): every row, or
   * with `leftoversOnly` the rows older than leftoverMs (younger ones are being published after
   * their commit). While RabbitMQ is failing, every row.
   */
  kick(leftoversOnly = false): void {
    if (this.running) {
      this.again = true;
      this.againAll ||= !leftoversOnly;
      return;
    }
    this.running = withRequestId(undefined, async () => {
      let all = !leftoversOnly;
      try {
        do {
          this.again = false;
          await this.relay(all || this.failing ? 0 : this.leftoverMs);
          all = this.againAll;
          this.againAll = false;
        } while (this.again);
        if (this.failing) this.logger.info(`Outbox ${this.table}: publishing again.`);
        this.failing = false;
      } catch (err) {
        this.failed(err);
      } finally {
        this.running = null;
      }
    });
  }

  /** Relay now and every `pollMs` until stopped. */
  start(): void {
    const poll = async () => {
      this.kick(true);
      await this.running;
      if (this.onPending && this.timer) this.onPending(await this.pending());
    };
    this.timer ??= setInterval(() => void poll().catch(() => undefined), this.pollMs);
    this.timer.unref();
    void poll().catch(() => undefined);
  }

  /** Stop polling and wait for a relay pass and publishes in progress (rows not yet published stay for the next start). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.again = false;
    this.againAll = false;
    await this.running;
    await Promise.all(this.publishing);
  }

  /** How many messages wait to be published. */
  pending(): Promise<number> {
    return this.model.count();
  }

  /**
   * Publish waiting rows (at least `olderThanMs` old) in order until none are left; throws when
   * RabbitMQ or the database refuses.
   */
  async relay(olderThanMs = 0): Promise<number> {
    let total = 0;
    for (;;) {
      const published = await this.relayBatch(olderThanMs);
      total += published.count;
      if (published.error) throw published.error;
      if (published.count < this.batchSize) return total;
    }
  }

  private async relayBatch(olderThanMs: number): Promise<{ count: number; error?: Error }> {
    const postgres = this.db.getDialect() === "postgres";
    return this.db.transaction(async (transaction) => {
      const found = await this.model.findAll({
        ...(olderThanMs > 0 ? { where: { createdAt: { [Op.lt]: new Date(Date.now() - olderThanMs) } } } : {}),
        order: [["id", "ASC"]],
        limit: this.batchSize,
        transaction,
        ...(postgres ? { lock: transaction.LOCK.UPDATE, skipLocked: true } : {}),
      });
      const { done, error } = await this.publishInOrder(found.map((r) => r.get({ plain: true }) as Row));
      // What RabbitMQ confirmed goes, also when a later row failed (it would only be a repeat).
      if (done.length) await this.deleteRows(done, transaction);
      return { count: done.length, error };
    });
  }
}
