/**
 * Stock held for orders, for other services only (never over HTTP).
 *
 * reserve: all lines or none, in one transaction (on PostgreSQL one statement: the
 *   shop_reserve_stock function of migration 0014 does the same). Each line is one conditional
 *   update `stock = stock - n WHERE id = ? AND active AND stock >= n`, which PostgreSQL re-checks on
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
import { DataTypes, Op, QueryTypes, Sequelize, type Model, type ModelStatic, type Transaction } from "sequelize";
import { isUuid } from "../../lib/listing.ts";
import { ROLES } from "../../lib/access.ts";
import { deadlineOf, type DbMethods, type DbVars } from "../../mixins/db.mixin.ts";
import { reservationProblems, type ProductSnapshot, type ProductState } from "../../domain/checkout.ts";
import { conflict, invalidAll, notFound } from "../../lib/errors.ts";
import {
  bindPlaceholders,
  RETRY_BUDGET_MS,
  runTransaction,
  sqlTimestamp,
  untilDatabaseAnswers,
} from "../../integrations/database/sequelize.ts";
import type { Product, ProductsSettings } from "./types.ts";

/** The products.stock column is a 32-bit INTEGER. */
const MAX_STOCK = 2_147_483_647;

/**
 * How stale a cached product read (products.get, products.list) may be about stock, in seconds:
 * their cache TTL. A reservation drops the cached reads of its products on its own node (on every
 * node with the shared Redis cacher) and broadcasts nothing, since stock changes with every
 * checkout; other nodes' copies and cached lists show the old stock until they expire. Every
 * other change (admin edits, releases) still cleans every node's cache at once.
 */
export const STOCK_STALE_SEC = 5;

/** products.get's cache: a read's key holds the product's id and the caller's role (what it is shown depends on it). */
export const PRODUCT_GET_CACHE = { keys: ["id", "#user.role"], ttl: STOCK_STALE_SEC };

/** Every role a products.get key can hold: anonymous callers have none. */
const CALLER_ROLES = [undefined, ...ROLES];

export interface StockMethods extends DbMethods<Product> {
  reservedLines(id: string, transaction?: Transaction): Promise<ReservedLine[] | null>;
  /** Drop this node's cached reads of these products (their stock changed); see STOCK_STALE_SEC. */
  forgetStock(productIds: readonly string[]): Promise<unknown>;
  productStates(lines: readonly Line[], transaction?: Transaction): Promise<ProductState[]>;
  reserveInOneStatement(reservationId: string, lines: readonly Line[], deadline: number): Promise<ReservedLine[] | null>;
  reserveInTransaction(reservationId: string, items: readonly Line[], lines: readonly Line[], deadline: number): Promise<ReservedLine[]>;
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
    // Not only UUIDs: a line naming no product is refused as not for sale (422), as checkout's other lines are.
    props: { productId: { type: "string", max: 64 }, quantity: { type: "number", integer: true, min: 1, max: 1000 } },
  },
} as const;

const tooLate = () => new Errors.MoleculerError("The reservation came too late; nothing was reserved.", 504, "DEADLINE_EXCEEDED");

/** A product's columns that a snapshot is made of. */
interface ProductRow {
  id: string;
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
}

function snapshotOf(p: ProductRow): ProductSnapshot {
  return { productId: p.id, sku: p.sku, name: p.name, unitPriceCents: Number(p.priceCents), currency: p.currency };
}

/**
 * One line's stock taken, if the product is for sale and has enough ($1 id, $2 quantity, $3 now),
 * returning its snapshot; PostgreSQL re-checks the WHERE on the newest row version.
 */
const TAKE_STOCK = `UPDATE products SET stock = stock - $2, "updatedAt" = $3 WHERE id = $1 AND active = true AND stock >= $2
  RETURNING id, sku, name, "priceCents", currency`;

/** The reservation row, unless its id is there already (then it adds no row). */
const ADD_RESERVATION = `INSERT INTO stock_reservations (id, items, status, "createdAt", "updatedAt") VALUES ($1, $2, 'reserved', $3, $3)
  ON CONFLICT (id) DO NOTHING`;

/** A reservation in one statement on PostgreSQL (migration 0014): $1 id, $2 product ids (sorted), $3 quantities, $4 now. */
const RESERVE_STOCK = `SELECT shop_reserve_stock($1::uuid, $2::uuid[], $3::integer[], $4::timestamptz) AS lines`;

/** Thrown to roll a reservation back when its id was reserved before: the first one's lines are the answer. */
class AlreadyReserved extends Error {
  readonly lines: ReservedLine[];
  constructor(lines: ReservedLine[]) {
    super("already reserved");
    this.lines = lines;
  }
}

export const stockMethods = {
  forgetStock(this: Self, productIds: readonly string[]): Promise<unknown> {
    const cacher = this.broker.cacher;
    if (!cacher) return Promise.resolve();
    // Each product's keys, one per role, made by the cacher's own keygen and deleted by name: a
    // pattern (`products.get:**<id>**`) would be matched against every cached key, which cost
    // products nodes ~0.4 ms per checkout with the catalogue cached (a SCAN with Redis). Cached
    // lists wait for their TTL. (Moleculer's typings say the action is its name; it is the action.)
    const action = { name: `${this.fullName}.get` } as unknown as string;
    const keys = productIds.flatMap((id) =>
      CALLER_ROLES.map((role) =>
        cacher.getCacheKey(action, PRODUCT_GET_CACHE, { params: { id }, meta: { user: role && { role } } } as unknown as Context),
      ),
    );
    return cacher.del(keys);
  },

  /**
   * The reservation as one statement (PostgreSQL, migration 0014's shop_reserve_stock): the
   * reserved lines; the first reservation's lines when the id was reserved before (SR002); null
   * when a line could not be taken (SR001: nothing was taken). Tried again while the database is
   * unreachable, until `deadline`: a try after a lost answer meets its own reservation (SR002).
   * Done after the deadline, it is given back (the checkout gave up) and answers 504.
   */
  async reserveInOneStatement(this: Self, reservationId: string, lines: readonly Line[], deadline: number): Promise<ReservedLine[] | null> {
    const db = this.adapter.db;
    const bind = [reservationId, lines.map((l) => l.productId), lines.map((l) => Number(l.quantity)), sqlTimestamp(new Date())];
    let reserved: ReservedLine[];
    try {
      const budget = Math.min(deadline, Date.now() + RETRY_BUDGET_MS) - Date.now();
      const [row] = await untilDatabaseAnswers(
        () => db.query<{ lines: ReservedLine[] }>(RESERVE_STOCK, { bind, type: QueryTypes.SELECT, retry: { max: 1 } }),
        Math.max(0, budget),
      );
      reserved = row!.lines;
    } catch (err) {
      const code = (err as { parent?: { code?: string } }).parent?.code;
      if (code === "SR001") return null;
      if (code !== "SR002") throw err;
      const first = await this.reservedLines(reservationId);
      if (first) return first;
      throw new Error(`Reservation ${reservationId} was neither added nor found.`, { cause: err });
    }
    if (Date.now() > deadline) {
      await this.releaseReservation(reservationId);
      throw tooLate();
    }
    return reserved;
  },

  /**
   * The reservation as a transaction: per line an `UPDATE … RETURNING` of the snapshot, then the
   * reservation row as `INSERT … ON CONFLICT (id) DO NOTHING`; a refusal (a 422 or 409, decided
   * inside the transaction) or a reservation id that is there already rolls back what it took.
   */
  async reserveInTransaction(
    this: Self,
    reservationId: string,
    items: readonly Line[],
    lines: readonly Line[],
    deadline: number,
  ): Promise<ReservedLine[]> {
    const db = this.adapter.db;
    try {
      return await runTransaction(
        db,
        async (transaction: Transaction) => {
          const now = sqlTimestamp(new Date());
          const taken: ProductRow[] = [];
          const missed: string[] = [];
          for (const line of lines) {
            const rows = isUuid(line.productId)
              ? await db.query<ProductRow>(TAKE_STOCK, {
                  bind: [line.productId, Number(line.quantity), now],
                  type: QueryTypes.SELECT,
                  transaction,
                })
              : [];
            if (rows.length === 1) taken.push(rows[0]!);
            else missed.push(line.productId);
          }
          const snapshots = taken.map(snapshotOf);
          // Every line taken (so every product for sale): only the currencies may disagree.
          let problems = missed.length
            ? []
            : reservationProblems(
                items,
                snapshots.map((snap) => ({ ...snap, active: true })),
              );
          if (missed.length || problems.length) {
            const first = await this.reservedLines(reservationId, transaction);
            if (first) throw new AlreadyReserved(first);
            if (missed.length) problems = reservationProblems(items, await this.productStates(lines, transaction));
            if (problems.length) throw invalidAll(problems);
            throw conflict("Not enough stock for some products.", "INSUFFICIENT_STOCK", { productIds: missed });
          }
          const byId = new Map(snapshots.map((s) => [s.productId, s]));
          const reservedLines: ReservedLine[] = lines.map((l) => ({ ...byId.get(l.productId)!, quantity: l.quantity }));
          // [_, rows added] on PostgreSQL and SQLite alike.
          const [, added] = await db.query(ADD_RESERVATION, {
            bind: [reservationId, JSON.stringify(reservedLines), now],
            type: QueryTypes.INSERT,
            transaction,
          });
          if (added === 0) {
            // The same id committed meanwhile (or this is a run after a lost commit answer).
            const first = await this.reservedLines(reservationId, transaction);
            if (first) throw new AlreadyReserved(first);
            throw new Error(`Reservation ${reservationId} was neither added nor found.`);
          }
          if (Date.now() > deadline) throw tooLate();
          return reservedLines;
        },
        { idempotent: true, deadline },
      );
    } catch (err) {
      if (err instanceof AlreadyReserved) return err.lines;
      throw err;
    }
  },

  /** The lines of reservation `id`, or null when there is none. */
  async reservedLines(this: Self, id: string, transaction?: Transaction): Promise<ReservedLine[] | null> {
    const row = await this.reservations.findByPk(id, { transaction });
    return row ? (row.get("items") as ReservedLine[]) : null;
  },

  /** Whether each line's product exists, is for sale, and its currency (for a refused reservation's 422s). */
  async productStates(this: Self, lines: readonly Line[], transaction?: Transaction): Promise<ProductState[]> {
    const ids = lines.map((l) => l.productId).filter(isUuid);
    if (ids.length === 0) return [];
    const rows = await this.adapter.db.query<{ id: string; active: boolean | number; currency: string }>(
      `SELECT id, active, currency FROM products WHERE id IN (${bindPlaceholders(ids.length)})`,
      { bind: ids, type: QueryTypes.SELECT, transaction },
    );
    // SQLite answers a boolean as 1 or 0.
    return rows.map((r) => ({ productId: r.id, active: Boolean(r.active), currency: r.currency }));
  },

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
  /**
   * Take the stock of every line, or of none, and return what the order needs of each product
   * (name, price, currency: the snapshot at reservation time). On PostgreSQL one statement
   * (reserveInOneStatement); refused there, or on SQLite, one transaction (reserveInTransaction).
   * A reservation id that is already there (a retry, or the same order reserved concurrently)
   * takes nothing and answers the first reservation's lines, so stock is taken once per id.
   * Refusals, decided inside the transaction: 422 for lines whose product is unknown, inactive
   * or in another currency (domain/checkout.ts reservationProblems), else 409 INSUFFICIENT_STOCK.
   */
  reserve: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    params: { reservationId: { type: "uuid" }, items: LINES },
    async handler(this: Self, ctx: Context<{ reservationId: string; items: Line[] }>) {
      const { reservationId, items } = ctx.params;
      // A reservation made after its checkout gave up would hold stock for no order: a call
      // that arrives (or a transaction that ends) too late takes nothing.
      const deadline = deadlineOf(ctx) ?? Infinity;
      if (Date.now() > deadline) {
        const first = await this.reservedLines(reservationId);
        if (first) return first;
        throw tooLate();
      }
      const lines = items.toSorted((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
      // PostgreSQL: one statement; refused (null), the transaction below takes it again and works out why.
      const fast = this.adapter.db.getDialect() === "postgres" && lines.every((l) => isUuid(l.productId));
      const reserved =
        (fast ? await this.reserveInOneStatement(reservationId, lines, deadline) : null) ??
        (await this.reserveInTransaction(reservationId, items, lines, deadline));
      await this.forgetStock(lines.map((l) => l.productId));
      return reserved;
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
