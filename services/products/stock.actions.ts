/**
 * Stock held for orders, for other services only (never over HTTP).
 *
 * reserve: all lines or none, in one transaction. Each line is one conditional update
 *   `stock = stock - n WHERE id = ? AND active AND stock >= n`, which PostgreSQL re-checks on
 *   the newest row version under Read Committed: no interleaving of concurrent checkouts on any
 *   number of nodes can oversell. Lines are locked in id order (no deadlocks). The reservation
 *   row is written in the same transaction, keyed by the order id: a retried reserve for the
 *   same order returns the first reservation instead of taking stock twice.
 * release: gives a reservation's stock back exactly once (compare-and-set on its status),
 *   never past the column's 2^31-1 (create, update and adjustStock are bounded there too).
 *   The same path (the `releaseReservation` method) serves the reconciliation job (reconcile.ts).
 * A reservation's status: `reserved` (holds its stock; the only releasable one), `released`
 * (stock given back), `settled` (its order was shipped or delivered and can never be cancelled:
 * sold for good, set by reconciliation and never changed again).
 */
import { Errors, type ActionSchema, type Context, type Service } from "moleculer";
import { DataTypes, Op, Sequelize, UniqueConstraintError, type Model, type ModelStatic, type Transaction } from "sequelize";
import { isUuid } from "../../lib/listing.ts";
import { deadlineOf, type DbMethods, type DbVars } from "../../mixins/db.mixin.ts";
import type { ProductSnapshot } from "../../domain/checkout.ts";
import { conflict, notFound } from "../../lib/errors.ts";
import { runTransaction } from "../../integrations/database/sequelize.ts";
import type { Product, ProductsSettings } from "./types.ts";

/** The products.stock column is a 32-bit INTEGER. */
const MAX_STOCK = 2_147_483_647;

export interface StockMethods extends DbMethods<Product> {
  /** The released lines, or null when the reservation was not held (unknown or already released). */
  releaseReservation(reservationId: string): Promise<ReservedLine[] | null>;
}

export interface StockVars extends DbVars {
  /** The reservation ledger (defineReservations). */
  reservations: ModelStatic<Model>;
}

/** The reservation ledger's model, on the products service's own connection. */
export function defineReservations(db: Sequelize): ModelStatic<Model> {
  return db.define(
    "stock_reservations",
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      items: { type: DataTypes.JSON, allowNull: false },
      status: { type: DataTypes.STRING(16), allowNull: false },
    },
    { tableName: "stock_reservations", timestamps: true, freezeTableName: true },
  );
}
type Self = Service<ProductsSettings> & StockMethods & StockVars;

interface Line {
  productId: string;
  quantity: number;
}
export interface ReservedLine extends ProductSnapshot {
  quantity: number;
}

const LINES = {
  type: "array",
  min: 1,
  max: 100,
  items: {
    type: "object",
    strict: true,
    props: { productId: { type: "uuid" }, quantity: { type: "number", integer: true, min: 1, max: 1000 } },
  },
} as const;

const tooLate = () => new Errors.MoleculerError("The reservation came too late; nothing was reserved.", 504, "DEADLINE_EXCEEDED");

function snapshotOf(row: Model): ProductSnapshot & { active: boolean; stock: number } {
  const p = row.get({ plain: true }) as {
    id: string;
    sku: string;
    name: string;
    priceCents: number;
    currency: string;
    active: boolean;
    stock: number;
  };
  return {
    productId: p.id,
    sku: p.sku,
    name: p.name,
    unitPriceCents: p.priceCents,
    currency: p.currency,
    active: p.active,
    stock: p.stock,
  };
}

export const stockMethods = {
  /**
   * Give a reservation's stock back, exactly once: the flip `reserved → released` is a
   * compare-and-set on the status, in the same transaction as the stock updates, so of any
   * number of concurrent releases (checkout's compensation, a cancellation, reconciliation on
   * any node) exactly one flips the row and gets the released lines; the others get null and
   * change nothing.
   */
  async releaseReservation(this: Self, reservationId: string): Promise<ReservedLine[] | null> {
    const released = await runTransaction(
      this.adapter.db,
      async (transaction: Transaction) => {
        const [flipped] = await this.reservations.update(
          { status: "released" },
          { where: { id: reservationId, status: "reserved" }, transaction },
        );
        if (flipped !== 1) return null;
        const row = await this.reservations.findByPk(reservationId, { transaction });
        const items = (row!.get("items") as ReservedLine[]).toSorted((a, b) => (a.productId < b.productId ? -1 : 1));
        for (const item of items) {
          const quantity = Number(item.quantity);
          const [added] = await this.adapter.model.update(
            { stock: Sequelize.literal(`stock + ${quantity}`) },
            { where: { id: item.productId, stock: { [Op.lte]: MAX_STOCK - quantity } }, transaction },
          );
          if (added === 1) continue;
          // Stock was set near the column's limit while these units were out (PATCH stock): the
          // column holds no more than 2^31-1, so the release tops it up to that, atomically.
          const [capped] = await this.adapter.model.update(
            { stock: Sequelize.literal(`CASE WHEN stock > ${MAX_STOCK - quantity} THEN ${MAX_STOCK} ELSE stock + ${quantity} END`) },
            { where: { id: item.productId }, transaction },
          );
          if (capped === 1) {
            this.logger.warn(`Released stock of product ${item.productId} capped at ${MAX_STOCK} (reservation ${reservationId}).`);
          }
        }
        return items;
        // Idempotent: the compare-and-set on the status lets only one run give the stock back.
      },
      { idempotent: true },
    );
    if (released) await this.clearCache();
    return released;
  },
};

export const stockActions: Record<string, ActionSchema<Self>> = {
  /** Current name, price, currency, availability of products (unknown ids are left out). */
  snapshot: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    params: { ids: { type: "array", min: 1, max: 100, items: "string" } },
    async handler(this: Self, ctx: Context<{ ids: string[] }>) {
      const ids = ctx.params.ids.filter(isUuid);
      if (ids.length === 0) return [];
      const rows = await this.adapter.model.findAll({ where: { id: { [Op.in]: ids } } });
      return rows.map(snapshotOf);
    },
  },

  reserve: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    params: { reservationId: { type: "uuid" }, items: LINES },
    async handler(this: Self, ctx: Context<{ reservationId: string; items: Line[] }>) {
      const { reservationId } = ctx.params;
      const existing = await this.reservations.findByPk(reservationId);
      if (existing) return existing.get("items") as ReservedLine[];
      // A reservation made after its checkout gave up would hold stock for no order: a call
      // that arrives (or a transaction that ends) too late takes nothing.
      const deadline = deadlineOf(ctx) ?? Infinity;
      if (Date.now() > deadline) throw tooLate();
      const lines = ctx.params.items.toSorted((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
      try {
        const reserved = await runTransaction(
          this.adapter.db,
          async (transaction: Transaction) => {
            const short: string[] = [];
            for (const line of lines) {
              const [updated] = await this.adapter.model.update(
                { stock: Sequelize.literal(`stock - ${Number(line.quantity)}`) },
                { where: { id: line.productId, active: true, stock: { [Op.gte]: line.quantity } }, transaction },
              );
              if (updated !== 1) short.push(line.productId);
            }
            if (short.length) {
              throw conflict("Not enough stock for some products.", "INSUFFICIENT_STOCK", { productIds: short });
            }
            const rows = await this.adapter.model.findAll({ where: { id: { [Op.in]: lines.map((l) => l.productId) } }, transaction });
            const byId = new Map(rows.map((r) => [r.get("id") as string, snapshotOf(r)]));
            const items: ReservedLine[] = lines.map((l) => {
              const { active: _a, stock: _s, ...snap } = byId.get(l.productId)!;
              return { ...snap, quantity: l.quantity };
            });
            await this.reservations.create({ id: reservationId, items, status: "reserved" }, { transaction });
            if (Date.now() > deadline) throw tooLate();
            return items;
            // Idempotent: a second run after a lost commit answer meets the first one's row.
          },
          { idempotent: true, deadline },
        );
        await this.clearCache();
        return reserved;
      } catch (err) {
        // The same order reserved concurrently: the first one stands, nothing was taken twice.
        if (err instanceof UniqueConstraintError) {
          const first = await this.reservations.findByPk(reservationId);
          if (first) return first.get("items") as ReservedLine[];
        }
        throw err;
      }
    },
  },

  release: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    params: { reservationId: { type: "uuid" } },
    async handler(this: Self, ctx: Context<{ reservationId: string }>) {
      const { reservationId } = ctx.params;
      const released = (await this.releaseReservation(reservationId)) !== null;
      // Settled means its order can never be cancelled: a release asked for then is a bug (or a
      // state machine that changed under settled reservations), and gives nothing back.
      if (!released && (await this.reservations.findByPk(reservationId, { attributes: ["status"] }))?.get("status") === "settled") {
        this.logger.error(
          `Release of settled reservation ${reservationId} refused: its order was final (shipped or delivered) when it was settled.`,
        );
      }
      return { released };
    },
  },

  // ---- Operator tool (the REPL's `stock <sku> <delta>`, repl/commands.ts) ----

  /**
   * A stock correction by a signed delta, as one conditional update
   * `stock = stock + delta WHERE sku = ? AND the result stays in 0..2^31-1`, so it never races
   * a checkout (an absolute `products.update --stock` would overwrite a concurrent
   * reservation). 404 for an unknown SKU, 409 INSUFFICIENT_STOCK below zero.
   */
  adjustStock: {
    access: "internal",
    visibility: "public",
    params: {
      $$strict: true,
      sku: { type: "string", min: 1, max: 64 },
      delta: { type: "number", integer: true, min: -MAX_STOCK, max: MAX_STOCK, convert: true },
    },
    async handler(this: Self, ctx: Context<{ sku: string; delta: number }>) {
      const { sku, delta } = ctx.params;
      const product = await this.adapter.db.transaction(async (transaction: Transaction) => {
        const [updated] = await this.adapter.model.update(
          { stock: Sequelize.literal(`stock + ${Number(delta)}`) },
          { where: { sku, stock: delta < 0 ? { [Op.gte]: -delta } : { [Op.lte]: MAX_STOCK - delta } }, transaction },
        );
        // Read inside the transaction: the row is ours until commit, so this is the stock we left.
        const row = await this.adapter.model.findOne({ where: { sku }, transaction });
        if (!row) throw notFound("Product", sku);
        if (updated !== 1) {
          const stock = row.get("stock") as number;
          throw delta < 0
            ? conflict(`Not enough stock: ${sku} has ${stock}, cannot take ${-delta}.`, "INSUFFICIENT_STOCK", { sku, stock, delta })
            : conflict(`Stock of ${sku} would exceed ${MAX_STOCK}.`, "STOCK_LIMIT", { sku, stock, delta });
        }
        return this.toPublic(row);
      });
      await this.clearCache();
      ctx.emit("products.updated", product);
      return product;
    },
  },
};
