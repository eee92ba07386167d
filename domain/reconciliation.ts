/**
 * Reconciling the stock reservation ledger with the orders: plain rules, no broker, no database.
 *
 * A reservation (products service) is keyed by its order's id. It can outlive its order in two
 * known ways, both logged by the orders service as "needs reconciliation":
 *   1. checkout reserved the stock, saving the order failed, and the compensating release failed too;
 *   2. an order was cancelled (committed) and the release that follows failed.
 * Either way the reservation stays `reserved` and its units are lost to sale. The products service
 * periodically asks orders about its old `reserved` reservations and releases those whose order is
 * `missing` or `cancelled`.
 *
 * Only a reservation whose order may still be cancelled can ever need that repair. The orders
 * service therefore tells apart an `open` order (one that can still reach `cancelled`: pending,
 * paid) from a `final` one (one that never can: shipped, delivered — derived from the state
 * machine in order-status.ts, not listed here). A `final` order's reservation is sold for good:
 * the products service marks it `settled` (a compare-and-set from `reserved`, like a release)
 * and never looks at it again, so each run's work is the open orders older than the grace
 * period plus whatever is broken, not the whole order history. A settled reservation is never
 * released: its order cannot be cancelled (no transition from shipped or delivered leads to one
 * where `releasesStock` holds) and orders are never deleted, so nothing would ask for it.
 *
 * The race that the grace period guards against: checkout reserves first and saves the order
 * afterwards, so for a moment every healthy checkout has a reservation whose order is "missing".
 * Releasing it then would give back stock that the order, committed a moment later, has sold
 * (an oversell). Only reservations older than the grace period are therefore ever considered; the
 * grace period must exceed the longest time between a reservation and its order's commit. The
 * orders service enforces that: a checkout that has not saved its order within half the grace
 * period rolls back and releases (CHECKOUT_TOO_SLOW). The grace period is at least 10 minutes
 * and at least twice the configured request timeout. Both times come from the nodes'
 * clocks (the reserving node writes createdAt, the reconciling node computes the cutoff), so
 * clock skew between nodes eats into the margin: NTP keeps it to milliseconds, against minutes.
 * "cancelled" and "final" can never become wrong: the order statuses behind them never lead
 * back to an open one.
 *
 * Mixed versions during a rolling upgrade stay safe both ways: an older orders node answers
 * `active` for every live order, which this side keeps (checked again next run, as before);
 * an older products node keeps on `open` and `final`, words it does not know.
 */
import { ORDER_STATUSES, allowedNext, isOrderStatus, releasesStock, type OrderStatus } from "./order-status.ts";

/**
 * What the orders service says about a reservation's order:
 *  - `open`: it exists and may still be cancelled: keep the stock, ask again next run;
 *  - `final`: it exists and can never be cancelled: the stock is sold for good (settle);
 *  - `cancelled`, `missing`: nobody needs the stock (release).
 */
export const RESERVATION_STATES = ["open", "final", "cancelled", "missing"] as const;
export type ReservationState = (typeof RESERVATION_STATES)[number];

/** What reconciliation does with a reservation: give its stock back, mark it sold for good, or ask again next run. */
export type Verdict = "release" | "settle" | "keep";

/** The smallest grace period, whatever the configuration says. */
export const MIN_GRACE_MS = 10 * 60_000;
/** How often each products node runs the job. */
export const RECONCILE_EVERY_MS = 5 * 60_000;
/** Reservations per question to the orders service (its action's limit). */
export const RECONCILE_BATCH = 500;

/** The grace period for a cluster whose calls time out after `requestTimeoutMs`. */
export function graceMs(requestTimeoutMs: number): number {
  return Math.max(MIN_GRACE_MS, 2 * requestTimeoutMs);
}

/** Reservations created before this instant are due for a check. */
export function dueBefore(now: Date, grace: number): Date {
  return new Date(now.getTime() - grace);
}

/** Is a reservation created at `createdAt` old enough to be checked? (The ledger query: createdAt < dueBefore.) */
export function isDue(createdAt: Date, now: Date, grace: number): boolean {
  return createdAt.getTime() < dueBefore(now, grace).getTime();
}

/**
 * Can an order in `status` still give its stock back, now or after any number of legal
 * transitions? (A walk over the state machine: pending and paid can, shipped, delivered and
 * cancelled cannot; a change to order-status.ts changes this answer with it.)
 */
export function mayStillReleaseStock(status: OrderStatus): boolean {
  const seen = new Set<OrderStatus>();
  const todo: OrderStatus[] = [status];
  while (todo.length) {
    const from = todo.pop()!;
    if (seen.has(from)) continue;
    seen.add(from);
    for (const to of allowedNext(from)) {
      if (releasesStock(from, to)) return true;
      todo.push(to);
    }
  }
  return false;
}

/**
 * The reservation statuses whose stock is out of the shelf: `reserved` (its order may still
 * cancel) and `settled` (it never will). Held stock is the sum of both, before and after a
 * reconciliation run; `released` gave its stock back.
 */
export const HELD_RESERVATION_STATUSES = ["reserved", "settled"] as const;

/** The order statuses whose reservations are settled: they can never release their stock. */
export const SETTLING_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((s) => s !== "cancelled" && !mayStillReleaseStock(s));

/**
 * The state of a reservation's order, from the order's status (undefined: no such order). A
 * status this code does not know is `open`: checked again, never settled on doubt.
 */
export function reservationState(orderStatus: string | null | undefined): ReservationState {
  if (orderStatus === undefined || orderStatus === null) return "missing";
  if (orderStatus === "cancelled") return "cancelled";
  return isOrderStatus(orderStatus) && SETTLING_STATUSES.includes(orderStatus) ? "final" : "open";
}

/**
 * What to do with a reservation whose order is in `state`. Only a clear `missing` or
 * `cancelled` releases and only a clear `final` settles; anything else (`open`, an older
 * orders node's `active`, an unknown word, no answer at all) keeps the reservation as it is,
 * to be asked about again: never release, nor stop watching, on doubt.
 */
export function verdict(state: unknown): Verdict {
  if (state === "missing" || state === "cancelled") return "release";
  return state === "final" ? "settle" : "keep";
}

export interface ReconcilePlan {
  /** Reservations to release, with why. */
  release: { id: string; state: "missing" | "cancelled" }[];
  /** Reservations whose order can never be cancelled: no longer to be checked. */
  settle: string[];
  /** Reservations whose order may still be cancelled, or that got no usable answer. */
  keep: string[];
}

/** Sort a batch of due reservations by the orders service's answer for each. */
export function planReconciliation(ids: readonly string[], answers: Readonly<Record<string, unknown>> | null | undefined): ReconcilePlan {
  const plan: ReconcilePlan = { release: [], settle: [], keep: [] };
  for (const id of ids) {
    const state = answers && typeof answers === "object" && Object.hasOwn(answers, id) ? answers[id] : undefined;
    const v = verdict(state);
    if (v === "release") plan.release.push({ id, state: state as "missing" | "cancelled" });
    else if (v === "settle") plan.settle.push(id);
    else plan.keep.push(id);
  }
  return plan;
}
