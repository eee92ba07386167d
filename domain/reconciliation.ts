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
 * "cancelled" is final (order-status.ts), so a cancelled answer can never become wrong.
 */
/** What the orders service says about a reservation's order. */
export const RESERVATION_STATES = ["active", "cancelled", "missing"] as const;
export type ReservationState = (typeof RESERVATION_STATES)[number];

/** What reconciliation does with a reservation. */
export type Verdict = "release" | "keep";

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

/** The state of a reservation's order, from the order's status (undefined: no such order). */
export function reservationState(orderStatus: string | null | undefined): ReservationState {
  if (orderStatus === undefined || orderStatus === null) return "missing";
  return orderStatus === "cancelled" ? "cancelled" : "active";
}

/**
 * What to do with a reservation whose order is in `state`. Anything but a clear `missing` or
 * `cancelled` (an unknown word, no answer at all) keeps the stock: never release on doubt.
 */
export function verdict(state: unknown): Verdict {
  return state === "missing" || state === "cancelled" ? "release" : "keep";
}

export interface ReleasePlan {
  /** Reservations to release, with why. */
  release: { id: string; state: "missing" | "cancelled" }[];
  /** Reservations whose order is live, or that got no usable answer. */
  keep: string[];
}

/** Sort a batch of due reservations by the orders service's answer for each. */
export function planReleases(ids: readonly string[], answers: Readonly<Record<string, unknown>> | null | undefined): ReleasePlan {
  const plan: ReleasePlan = { release: [], keep: [] };
  for (const id of ids) {
    const state = answers && Object.hasOwn(answers, id) ? answers[id] : undefined;
    if (verdict(state) === "release") plan.release.push({ id, state: state as "missing" | "cancelled" });
    else plan.keep.push(id);
  }
  return plan;
}
