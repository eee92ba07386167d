/**
 * The order lifecycle as a plain state machine:
 *
 *   pending ──► paid ──► shipped ──► delivered
 *      │          │
 *      └──────────┴──► cancelled   (stock is restored)
 *
 * Shoppers may only cancel their own pending orders; staff move orders along any legal edge.
 */
export const ORDER_STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled"] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

const NEXT: Record<OrderStatus, readonly OrderStatus[]> = {
  pending: ["paid", "cancelled"],
  paid: ["shipped", "cancelled"],
  shipped: ["delivered"],
  delivered: [],
  cancelled: [],
};

export function isOrderStatus(value: unknown): value is OrderStatus {
  return typeof value === "string" && (ORDER_STATUSES as readonly string[]).includes(value);
}

export function allowedNext(from: OrderStatus): readonly OrderStatus[] {
  return NEXT[from];
}

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return NEXT[from].includes(to);
}

/** Statuses from which `to` can be reached in one step (for compare-and-set updates). */
export function sourcesOf(to: OrderStatus): OrderStatus[] {
  return ORDER_STATUSES.filter((from) => NEXT[from].includes(to));
}

/** Does leaving `from` for `to` give the reserved stock back? */
export function releasesStock(from: OrderStatus, to: OrderStatus): boolean {
  return to === "cancelled" && canTransition(from, to);
}

export function isFinal(status: OrderStatus): boolean {
  return NEXT[status].length === 0;
}

/** A shopper may cancel a pending order of their own, nothing else. */
export function shopperMay(from: OrderStatus, to: OrderStatus): boolean {
  return from === "pending" && to === "cancelled";
}

/** Who changed an order's status when no person did (an unpaid order that expired). */
export const SYSTEM_ACTOR = "system";

/**
 * Unpaid orders: with a time to live (seconds, > 0), a pending order created before the
 * returned moment has waited too long for its payment and is cancelled; 0 keeps them forever.
 */
export function unpaidCutoff(now: Date, ttlSec: number): Date | null {
  return ttlSec > 0 ? new Date(now.getTime() - ttlSec * 1000) : null;
}

export interface StatusChange {
  from: OrderStatus | null;
  to: OrderStatus;
  at: string;
  by: string;
  reason?: string;
}

/** Who changed an order's status, as its customer is told: never a member of staff's id. */
export type CustomerActor = "customer" | "shop" | "system";

export interface CustomerStatusChange {
  from: OrderStatus | null;
  to: OrderStatus;
  at: string;
  by: CustomerActor;
  reason?: string;
}

/**
 * An order's history as its customer sees it: each change says whether the customer, the
 * shop (any member of staff) or the system made it, and keeps the reason only when the
 * customer or the system gave it; staff notes are internal. Staff see the history as stored.
 */
export function customerHistory(history: readonly StatusChange[], customerId: string): CustomerStatusChange[] {
  return history.map((change) => {
    const by: CustomerActor = change.by === customerId ? "customer" : change.by === SYSTEM_ACTOR ? "system" : "shop";
    return { from: change.from, to: change.to, at: change.at, by, ...(change.reason && by !== "shop" ? { reason: change.reason } : {}) };
  });
}
