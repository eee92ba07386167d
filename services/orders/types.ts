/** The orders service's shapes, shared by its files. */
import type { Context, Service } from "moleculer";
import type { Transaction } from "sequelize";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import type { RetryLater } from "../../lib/retry-later.ts";
import type { DbMethods, DbVars } from "../../mixins/db.mixin.ts";
import type { DurableEventMethods, DurableEventVars } from "../../mixins/durable-events.mixin.ts";
import type { OrderLine } from "../../domain/checkout.ts";
import type { OrderStatus, StatusChange } from "../../domain/order-status.ts";
import type { IdempotencyStore } from "./idempotency.ts";

export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  items: OrderLine[];
  totalCents: number;
  currency: string;
  shippingAddress: Record<string, string>;
  statusHistory: StatusChange[];
  createdAt: Date;
  updatedAt: Date;
}

/** An order's row: the order, and the Idempotency-Key it was placed with (never shown). */
export interface OrderRow extends Order {
  idempotencyKey: string | null;
}

export interface OrdersSettings {
  rest: string;
  /** A checkout saves its order within this long after reserving, or rolls back. */
  saveDeadlineMs: number;
  /** An Idempotency-Key claimed longer ago than this, and still in flight, may be taken over. */
  claimStaleMs: number;
  outboxTable: string;
  pendingTtlSec: number;
}

/** What the service keeps besides its methods. */
export interface OrdersVars extends DbVars, DurableEventVars {
  idempotency: IdempotencyStore;
  sweepTimer: NodeJS.Timeout | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  backgroundRetries: Set<RetryLater>;
}

export interface OrdersMethods extends DbMethods<Order>, DurableEventMethods {
  /** Keep a background retry until it ends; the node's stop cancels those still running. */
  trackBackgroundRetry(retry: RetryLater): void;
  expireUnpaid(now?: Date): Promise<number>;
  /** The order as the caller may see it: customers without staff ids and staff notes in its history. */
  viewFor(ctx: Context<unknown, ShopMeta>, order: Order): Order;
  changeStatus(ctx: Context<unknown, ShopMeta>, order: Order, to: OrderStatus, reason?: string): Promise<Order>;
  customerOf(ctx: Context<unknown, ShopMeta>, userId: string): Promise<unknown>;
  announce(
    ctx: Context<unknown, ShopMeta>,
    transaction: Transaction,
    event: string,
    order: Order,
    customer: unknown,
    extra?: Record<string, unknown>,
  ): Promise<void>;
}

export type OrdersSelf = Service<OrdersSettings> & OrdersMethods & OrdersVars;
