/**
 * Idempotency-Key for checkout, per user, for 24 hours. `claim` inserts the key as
 * "in-flight" (a unique index makes exactly one concurrent request the owner, identified by its
 * claim id); the owner `complete`s it with the order and the response it sends (status and
 * body) in the order's own transaction, or `abandon`s it on failure so the client may retry. Everyone else
 * learns: replay this response, still in flight, or the key was used with a different body.
 */
import { randomUUID } from "node:crypto";
import { DataTypes, Op, UniqueConstraintError, type Model, type ModelStatic, type Sequelize, type Transaction } from "sequelize";

const TTL_MS = 24 * 3600 * 1000;

/** The first response as the client got it: its status and its (JSON) body. */
export interface StoredResponse {
  status: number;
  body: unknown;
}

/**
 * `response` is null for keys completed before migration 20261129-0008 stored responses:
 * the caller then falls back to re-reading the order (its current state, not the first one).
 */
export type Claim =
  | { state: "owner"; claimId: string }
  | { state: "replay"; orderId: string; response: StoredResponse | null }
  | { state: "in-flight" }
  | { state: "mismatch" };

export class IdempotencyStore {
  readonly model: ModelStatic<Model>;

  constructor(db: Sequelize) {
    this.model = db.define(
      "order_idempotency_keys",
      {
        id: { type: DataTypes.UUID, primaryKey: true },
        userId: { type: DataTypes.UUID, allowNull: false },
        key: { type: DataTypes.STRING(255), allowNull: false },
        fingerprint: { type: DataTypes.STRING(64), allowNull: false },
        state: { type: DataTypes.STRING(16), allowNull: false },
        orderId: { type: DataTypes.UUID },
        // JSON text of StoredResponse. TEXT rather than JSON/JSONB: kept verbatim on both
        // dialects (JSONB would reorder the body's keys).
        response: { type: DataTypes.TEXT },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
      },
      { tableName: "order_idempotency_keys", timestamps: true, freezeTableName: true },
    );
  }

  /**
   * Become the owner of `key`, or learn what became of it. An in-flight claim older than
   * `staleAfterMs` belongs to a request that can no longer commit (a checkout never saves its
   * order after its deadline) and whose clean-up was lost (its node died, or the database was
   * down when it tried): it is taken over, so the client's retry is not refused for 24 hours.
   */
  async claim(userId: string, key: string, fingerprint: string, staleAfterMs = Infinity): Promise<Claim> {
    // An expired key is forgotten, so it can be used again.
    await this.model.destroy({ where: { userId, key, expiresAt: { [Op.lt]: new Date() } } });
    const claimId = randomUUID();
    try {
      await this.model.create({ id: claimId, userId, key, fingerprint, state: "in-flight", expiresAt: new Date(Date.now() + TTL_MS) });
      return { state: "owner", claimId };
    } catch (err) {
      if (!(err instanceof UniqueConstraintError)) throw err;
    }
    const row = await this.model.findOne({ where: { userId, key } });
    if (!row) return this.claim(userId, key, fingerprint, staleAfterMs); // abandoned meanwhile: try again
    const r = row.get({ plain: true }) as {
      id: string;
      fingerprint: string;
      state: string;
      orderId: string | null;
      response: string | null;
      createdAt: Date;
    };
    if (r.fingerprint !== fingerprint) return { state: "mismatch" };
    if (r.state === "done" && r.orderId)
      return { state: "replay", orderId: r.orderId, response: r.response ? (JSON.parse(r.response) as StoredResponse) : null };
    if (Date.now() - new Date(r.createdAt).getTime() > staleAfterMs) {
      await this.model.destroy({ where: { id: r.id, state: "in-flight" } });
      return this.claim(userId, key, fingerprint, staleAfterMs);
    }
    return { state: "in-flight" };
  }

  /**
   * The owner's request succeeded: remember its order and the response the client gets,
   * inside the transaction that saves the order (both or neither). The body is stored as
   * JSON text, so a replay sends the same bytes (JSON.stringify of the parsed text is the text).
   */
  async complete(claimId: string, orderId: string, response: StoredResponse, transaction: Transaction): Promise<void> {
    const text = JSON.stringify(response);
    const [updated] = await this.model.update(
      { state: "done", orderId, response: text },
      { where: { id: claimId, state: "in-flight" }, transaction },
    );
    // Taken over as stale: this request is too late to save anything (its transaction rolls back).
    if (updated !== 1) throw new Error(`idempotency claim ${claimId} was taken over`);
  }

  /** Forget every expired key (the hourly sweep; `claim` also forgets an expired key it meets). */
  async sweep(now = new Date()): Promise<number> {
    return this.model.destroy({ where: { expiresAt: { [Op.lt]: now } } });
  }

  /** The owner's request failed and saved nothing: the client may use the key again. */
  async abandon(claimId: string): Promise<void> {
    await this.model.destroy({ where: { id: claimId, state: "in-flight" } });
  }
}
