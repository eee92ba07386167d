/**
 * Reconciliation of the reservation ledger with the orders (rules: domain/reconciliation.ts).
 *
 * A reservation still `reserved` whose order is missing (checkout's compensation failed) or
 * cancelled (the release after the cancellation failed) holds units nobody can buy. Every
 * RECONCILE_EVERY_MS each products node, and `products.reconcile` on demand:
 *   1. reads the `reserved` reservations created before now − grace period, oldest first, in
 *      pages of RECONCILE_BATCH (keyset on createdAt, id; index stock_reservations_status_created);
 *   2. asks `orders.reservationStates` about each page (the orders service reads its own table);
 *   3. releases those whose order is `missing` or `cancelled` through releaseReservation, the
 *      same compare-and-set path as `products.release`, and logs each at warn level;
 *   4. settles those whose order is `final` (shipped, delivered: it can never be cancelled):
 *      one compare-and-set `reserved → settled` for the page, after which step 1 never reads
 *      them again. So a run reads and asks about the open orders (pending, paid) older than
 *      the grace period and the broken reservations, not every order ever placed.
 * If orders cannot be asked (down, timeout, error) or answers something unexpected, nothing of
 * that page or the pages after it is released or settled: never act on doubt. A release that
 * loses the compare-and-set (a concurrent cancellation, another node's run) releases nothing.
 *
 * The grace period (domain/reconciliation.ts) keeps in-flight checkouts out of reach: a
 * healthy checkout reserves first and commits its order a moment later, so its reservation
 * briefly has no order; only reservations older than any checkout can take are looked at.
 *
 * Several replicas: correctness needs no coordination (the compare-and-set makes a double
 * release impossible). To avoid doing the same work on every replica, a run on PostgreSQL
 * first takes a transaction-scoped advisory lock with pg_try_advisory_xact_lock: a node that
 * does not get it skips the run (`skipped: true`); the lock goes with the transaction, also when
 * the node dies. The lock's transaction holds one pooled connection and does nothing else, so
 * the releases run on other connections and commit one by one. SQLite (the embedded default)
 * has one node and one connection: no lock there, and with a pool of one connection neither.
 * On one node, a run that starts while another is in progress joins it.
 */
import type { ActionSchema, Context, Service, ServiceBroker } from "moleculer";
import { Op, QueryTypes, type Model, type WhereOptions } from "sequelize";
import { getConfig } from "../../lib/config.ts";
import { every } from "../../lib/every.ts";
import { RECONCILE_BATCH, RECONCILE_EVERY_MS, dueBefore, graceMs, planReconciliation } from "../../domain/reconciliation.ts";
import type { StockMethods, StockVars } from "./stock.actions.ts";
import type { ProductsSettings } from "./types.ts";

/** The advisory lock's key (any constant bigint; advisory locks are per database). */
export const RECONCILE_LOCK_KEY = 7_202_611_280_003;

export interface ReconcileResult {
  /** Due reservations the orders service answered about. */
  checked: number;
  /** Reservations this run released. */
  released: number;
  /** Reservations this run settled (their order can never be cancelled: never checked again). */
  settled: number;
  /** Another node held the lock: this one did nothing. */
  skipped?: true;
}

/** ctx.call inside an action (keeps the request id and tracing), broker.call from the timer. */
type Caller = Pick<Context, "call"> | Pick<ServiceBroker, "call">;

export interface ReconcileVars extends StockVars {
  reconcileTimer: NodeJS.Timeout | undefined;
  reconcileRun: Promise<ReconcileResult> | undefined;
}

export interface ReconcileMethods extends StockMethods {
  /** One reconciliation run on this node (joined if one is in progress), under the cluster-wide lock. */
  reconcileReservations(caller?: Caller): Promise<ReconcileResult>;
  /** The scan itself, without lock or joining: safe to run concurrently, only wasteful. */
  reconcilePass(caller: Caller): Promise<ReconcileResult>;
  applyOrderStates(ids: string[], answers: Record<string, unknown>): Promise<{ released: number; settled: number }>;
}
type Self = Service<ProductsSettings> & ReconcileMethods & ReconcileVars;

export const reconcileMethods = {
  applyOrderStates,

  reconcileReservations(this: Self, caller: Caller = this.broker): Promise<ReconcileResult> {
    if (this.reconcileRun) return this.reconcileRun;
    const run = (async () => {
      const db = this.adapter.db;
      const cfg = getConfig().database;
      if (cfg.dialect !== "postgres" || cfg.poolMax < 2) return this.reconcilePass(caller);
      return db.transaction(async (transaction) => {
        const [lock] = await db.query<{ locked: boolean }>("SELECT pg_try_advisory_xact_lock(:key) AS locked", {
          replacements: { key: RECONCILE_LOCK_KEY },
          type: QueryTypes.SELECT,
          transaction,
        });
        if (!lock?.locked) {
          this.logger.debug("Reservation reconciliation skipped: another node is running it.");
          return { checked: 0, released: 0, settled: 0, skipped: true as const };
        }
        return this.reconcilePass(caller);
      });
    })();
    this.reconcileRun = run;
    const clear = () => {
      if (this.reconcileRun === run) this.reconcileRun = undefined;
    };
    run.then(clear, clear);
    return run;
  },

  async reconcilePass(this: Self, caller: Caller): Promise<ReconcileResult> {
    const cutoff = dueBefore(new Date(), graceMs(getConfig().requestTimeoutMs));
    let checked = 0;
    let released = 0;
    let settled = 0;
    let after: { createdAt: Date; id: string } | undefined;
    for (;;) {
      // The keyset (createdAt, id) > after, with createdAt >= after.createdAt spelled out so the
      // index range starts at the previous page's end instead of the oldest reservation.
      const where: WhereOptions = {
        status: "reserved",
        createdAt: after ? { [Op.lt]: cutoff, [Op.gte]: after.createdAt } : { [Op.lt]: cutoff },
        ...(after ? { [Op.or]: [{ createdAt: { [Op.gt]: after.createdAt } }, { id: { [Op.gt]: after.id } }] } : {}),
      };
      const rows: Model[] = await this.reservations.findAll({
        attributes: ["id", "createdAt"],
        where,
        order: [
          ["createdAt", "ASC"],
          ["id", "ASC"],
        ],
        limit: RECONCILE_BATCH,
      });
      if (rows.length === 0) break;
      const ids = rows.map((r) => r.get("id") as string);
      let answers: Record<string, unknown>;
      try {
        answers = await caller.call<Record<string, unknown>, { ids: string[] }>("orders.reservationStates", { ids });
      } catch (err) {
        this.logger.warn(
          `Reservation reconciliation stopped: the orders service could not be asked (${(err as Error)?.message ?? err}); ` +
            `nothing more released (${released} released before).`,
        );
        throw err;
      }
      checked += ids.length;
      const done = await this.applyOrderStates(ids, answers);
      released += done.released;
      settled += done.settled;
      if (rows.length < RECONCILE_BATCH) break;
      const last = rows[rows.length - 1]!;
      after = { createdAt: last.get("createdAt") as Date, id: last.get("id") as string };
    }
    return { checked, released, settled };
  },
};

/**
 * Release the reservations among `ids` whose order is missing or cancelled and settle those whose
 * order is final, by the orders service's `answers` (the same compare-and-set paths as a release).
 */
async function applyOrderStates(
  this: Self,
  ids: string[],
  answers: Record<string, unknown>,
): Promise<{ released: number; settled: number }> {
  const plan = planReconciliation(ids, answers);
  let released = 0;
  for (const { id, state } of plan.release) {
    const lines = await this.releaseReservation(id);
    if (!lines) continue; // released meanwhile (a late cancellation, another node): not ours to count
    released += 1;
    const what = lines.map((l) => `${l.quantity} × ${l.sku} (${l.productId})`).join(", ");
    this.logger.warn(`Reconciliation released reservation ${id}: its order is ${state}. Back in stock: ${what}.`);
  }
  let settled = 0;
  if (plan.settle.length) {
    // Compare-and-set as in a release: only a reservation still `reserved` is settled.
    [settled] = await this.reservations.update({ status: "settled" }, { where: { id: { [Op.in]: plan.settle }, status: "reserved" } });
  }
  return { released, settled };
}

/**
 * Reconcile these reservations now, whatever their age: a checkout or cancellation that could
 * not release its stock asks for it (durably, see `reservation.check`). Only a `reserved` one is
 * looked at; its order decides, as in a run. Throws when orders cannot be asked: ask again later.
 */
export async function checkReservations(self: Self, caller: Caller, ids: string[]): Promise<{ released: number; settled: number }> {
  const held = await self.reservations.findAll({ attributes: ["id"], where: { id: { [Op.in]: ids }, status: "reserved" } });
  if (!held.length) return { released: 0, settled: 0 };
  const heldIds = held.map((r) => r.get("id") as string);
  const answers = await caller.call<Record<string, unknown>, { ids: string[] }>("orders.reservationStates", { ids: heldIds });
  return self.applyOrderStates(heldIds, answers);
}

/** Start the periodic run on this node. */
export function startReconciling(self: Self): void {
  self.reconcileTimer = every(RECONCILE_EVERY_MS, "Reservation reconciliation (it runs again later)", self.logger, async () => {
    const r = await self.reconcileReservations();
    const line =
      `Reservation reconciliation: of ${r.checked} checked reservations, ${r.released} released and ${r.settled} settled ` +
      `(sold for good, not checked again).`;
    if (r.released > 0) self.logger.info(line);
    else if (r.settled > 0) self.logger.debug(line);
  });
}

/** Stop the periodic run and let a run in progress finish (its releases are single transactions). */
export async function stopReconciling(self: Self): Promise<void> {
  clearInterval(self.reconcileTimer);
  self.reconcileTimer = undefined;
  await self.reconcileRun?.catch(() => undefined);
}

export const reconcileActions: Record<string, ActionSchema<Self>> = {
  /**
   * Reconcile these reservations now (their checkout or cancellation could not release them):
   * `{released, settled}`. Idempotent; fails when the orders service cannot be asked. Never over HTTP.
   */
  checkReservations: {
    access: "internal",
    visibility: "public",
    idempotent: true,
    params: { $$strict: true, ids: { type: "array", min: 1, max: RECONCILE_BATCH, items: { type: "uuid" } } },
    handler(this: Self, ctx: Context<{ ids: string[] }>) {
      return checkReservations(this, ctx, ctx.params.ids);
    },
  },

  /**
   * Operators and tests: run the reconciliation now on this node → `{checked, released, settled}`
   * (`skipped: true` when another node holds the lock). Fails, releasing nothing more, when
   * the orders service cannot be asked. Its calls to orders share this call's timeout: with a
   * very large ledger, call it with a longer `timeout`. Never over HTTP.
   */
  reconcile: {
    access: "internal",
    idempotent: true,
    visibility: "public",
    params: { $$strict: true },
    handler(this: Self, ctx: Context) {
      return this.reconcileReservations(ctx);
    },
  },
};
