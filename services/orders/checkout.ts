/**
 * Checkout as named steps, each with its compensation (lib/saga.ts):
 *
 *   claimKey      Idempotency-Key: replay the first response, or own the key   ↺ abandon the key
 *   checkCart     the cart's lines (422 for a product named twice)
 *   reserveStock  products.reserve, all lines or none, keyed by the order id, answering the
 *                 products' snapshots (422 unknown, inactive, mixed currency; 409 stock) ↺ release unless sold
 *   saveOrder     the order, its key's response and its `order.created` (outbox), in one
 *                 transaction that commits only before the request's deadline
 *
 * At most once: reserve is idempotent by the order id (a retried reserve returns the first
 * reservation), and the order is saved only once (its id is the primary key). A checkout that
 * outlives its deadline rolls back instead of saving an order its client never hears about.
 * Releasing is durable: when products cannot be reached, the release is handed to RabbitMQ
 * (`reservation.check`, consumed by products until done) or, without RabbitMQ, retried in the
 * background; reconciliation (products/reconcile.ts) remains the last resort after a crash.
 */
import { randomUUID } from "node:crypto";
import { Errors, type Context } from "moleculer";
import { QueryTypes, UniqueConstraintError, type Transaction } from "sequelize";
import { sqlTimestamp } from "../../integrations/database/sequelize.ts";
import { STOP, type SagaStep } from "../../lib/saga.ts";
import { retryLater } from "../../lib/retry-later.ts";
import { forbidden, conflict, invalid, invalidAll } from "../../lib/errors.ts";
import { deadlineOf } from "../../mixins/db.mixin.ts";
import { cartProblems, priceOrder, requestFingerprint, type CartLine, type ProductSnapshot } from "../../domain/checkout.ts";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import type { Statement } from "../../mixins/durable-events.mixin.ts";
import type { OrdersSelf, Order, OrderRow } from "./types.ts";

export interface CheckoutParams {
  items: CartLine[];
  shippingAddress: Record<string, string>;
}

/** What the steps share: the request, and what each step found or made. */
export interface Checkout {
  ctx: Context<CheckoutParams, ShopMeta>;
  orderId: string;
  key?: string;
  claimId?: string;
  customer?: Promise<unknown>;
  reservedAt?: number;
  reserved?: ProductSnapshot[];
  order?: Order;
  /** The key's first response is replayed, with this status. */
  replayedStatus?: number;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** A client error (4xx) says the step did nothing; anything else leaves its outcome unknown. */
const isClientError = (err: unknown) => {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "number" && code >= 400 && code < 500;
};

/** A new checkout for this request (403/422 for what no step needs to look at). */
export function startCheckout(ctx: Context<CheckoutParams, ShopMeta>): Checkout {
  if (ctx.meta.user!.client) throw forbidden("Orders are placed by people, not API clients.");
  const key = ctx.meta.idempotencyKey;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw invalid("Idempotency-Key", "The Idempotency-Key header must be 1-255 visible ASCII characters.", "header");
  }
  return { ctx, orderId: randomUUID(), ...(key ? { key } : {}) };
}

export function checkoutSteps(self: OrdersSelf): SagaStep<Checkout>[] {
  return [claimKey(self), checkCart(self), reserveStock(self), saveOrder(self)];
}

/**
 * Idempotent retries: the same key and body within 24 h get the first response back, as it was
 * sent (a later payment or cancellation does not change it).
 */
function claimKey(self: OrdersSelf): SagaStep<Checkout> {
  return {
    name: "claim the Idempotency-Key",
    async run(c) {
      if (!c.key) return;
      const { ctx } = c;
      const claim = await self.idempotency.claim(ctx.meta.user!.id, c.key, requestFingerprint(ctx.params), self.settings.claimStaleMs);
      if (claim.state === "owner") {
        c.claimId = claim.claimId;
        return;
      }
      if (claim.state === "in-flight")
        throw conflict("A request with this Idempotency-Key is still being processed.", "IDEMPOTENCY_IN_FLIGHT");
      if (claim.state === "mismatch") {
        throw invalid("Idempotency-Key", "This Idempotency-Key was used with a different request body.", "idempotency");
      }
      c.replayedStatus = claim.response?.status ?? 201;
      // Keys completed before migration 20261129-0008 have no stored response: for those the
      // replay re-reads the order (its current state rather than the first response).
      c.order = (claim.response ? claim.response.body : await self.getEntity(claim.orderId)) as Order;
      return STOP;
    },
    async compensate(c) {
      // Nothing saved (or the save's outcome is unknown, then the key stays until it is stale).
      if (c.claimId && !c.order) await self.idempotency.abandon(c.claimId);
    },
  };
}

/**
 * What orders can tell alone (each product once). Whether the products exist, are for sale and
 * share a currency is decided by products.reserve, inside its transaction (its 422s).
 */
function checkCart(self: OrdersSelf): SagaStep<Checkout> {
  return {
    name: "check the cart",
    async run(c) {
      const duplicates = cartProblems(c.ctx.params.items);
      if (duplicates.length) throw invalidAll(duplicates);
      // Asked now, used when saving: the customer's address for the e-mails.
      c.customer = self.customerOf(c.ctx, c.ctx.meta.user!.id);
      c.customer.catch(() => undefined);
    },
  };
}

/**
 * Stock first: prices and names are the snapshot taken inside the reservation. The reservation
 * gets the whole deadline: it queues on the product's row under load, and giving up on it early
 * would only queue it again.
 */
function reserveStock(self: OrdersSelf): SagaStep<Checkout> {
  return {
    name: "reserve the stock",
    async run(c) {
      c.reservedAt = Date.now();
      c.reserved = await c.ctx.call<ProductSnapshot[], object>("products.reserve", { reservationId: c.orderId, items: c.ctx.params.items });
    },
    async compensate(c, err) {
      if (c.order) return;
      // A refused reservation (409 out of stock, 422) took nothing; any other failure may have.
      if (!c.reserved && isClientError(err)) return;
      self.logger.warn(`Checkout of order ${c.orderId} failed after reserving its stock; releasing it.`, (err as Error)?.message ?? err);
      await releaseUnsold(self, c.ctx, [c.orderId]);
    },
  };
}

const tooLate = () =>
  new Errors.MoleculerError("The order could not be saved in time; nothing was sold, try again.", 503, "CHECKOUT_TOO_SLOW");

function saveOrder(self: OrdersSelf): SagaStep<Checkout> {
  return {
    name: "save the order",
    async run(c) {
      const { ctx } = c;
      const user = ctx.meta.user!;
      const priced = priceOrder(ctx.params.items, c.reserved!);
      const customer = await c.customer;
      const now = new Date();
      const latest = Math.min(deadlineOf(ctx) ?? Infinity, c.reservedAt! + self.settings.saveDeadlineMs);
      const values = {
        id: c.orderId,
        userId: user.id,
        status: "pending" as const,
        items: priced.items,
        totalCents: priced.totalCents,
        currency: priced.currency,
        shippingAddress: ctx.params.shippingAddress,
        statusHistory: [{ from: null, to: "pending" as const, at: now.toISOString(), by: user.id }],
        idempotencyKey: c.key ?? null,
      };
      try {
        if (!c.claimId) {
          // No Idempotency-Key to complete with it: the order and its `order.created` are one
          // statement (Outbox.addWith), no transaction; where that cannot be, the transaction below.
          if (Date.now() > latest) throw tooLate();
          const { statement, order } = orderInsert(self, values);
          const announced = { order, customer };
          if (await self.changeWithDurable(ctx, statement, "order.created", announced, announcementId("order.created", order), latest)) {
            c.order = order;
            return;
          }
        }
        c.order = await self.inTransaction(
          ctx,
          async (transaction: Transaction) => {
            const { statement, order: created } = orderInsert(self, values);
            await self.adapter.db.query(statement.sql, { bind: [...statement.bind], type: QueryTypes.INSERT, transaction });
            // The key and the response it replays are saved with the order, or not at all.
            if (c.claimId) await self.idempotency.complete(c.claimId, c.orderId, { status: 201, body: created }, transaction);
            await self.announce(ctx, transaction, "order.created", created, customer);
            if (Date.now() > latest) throw tooLate();
            return created;
          },
          // Run again after a commit whose answer was lost: the order's id makes a second insert fail.
          { idempotent: true },
        );
      } catch (err) {
        // That second insert: the first attempt did commit.
        if (!(err instanceof UniqueConstraintError)) throw err;
        c.order = await self.getEntity(c.orderId);
      }
    },
  };
}

const INSERT_ORDER = `INSERT INTO orders
  (id, "userId", status, items, "totalCents", currency, "shippingAddress", "statusHistory", "idempotencyKey", "createdAt", "updatedAt")
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`;

/**
 * The order's row as one bound INSERT (no model instance to build and copy), and the order as
 * the service shows it. A second insert of the same id fails as a UniqueConstraintError, as a
 * model's would.
 */
function orderInsert(self: OrdersSelf, values: Omit<OrderRow, "createdAt" | "updatedAt">): { statement: Statement; order: Order } {
  const at = new Date();
  const bind = [
    values.id,
    values.userId,
    values.status,
    JSON.stringify(values.items),
    values.totalCents,
    values.currency,
    JSON.stringify(values.shippingAddress),
    JSON.stringify(values.statusHistory),
    values.idempotencyKey,
    sqlTimestamp(at),
  ];
  return { statement: { sql: INSERT_ORDER, bind }, order: self.toPublic({ ...values, createdAt: at, updatedAt: at }) };
}

/** The messageId of an order's durable event: one per order and event (per target status for a status change). */
export function announcementId(event: string, order: Pick<Order, "id">, to?: unknown): string {
  return event === "order.status-changed" ? `${event}:${order.id}:${String(to)}` : `${event}:${order.id}`;
}

/**
 * Give back the stock of reservations whose order was not saved (or was cancelled), now if
 * products can be reached, else durably: products checks each reservation against its order
 * (`products.checkReservations`: an order that exists keeps its stock) and releases the rest.
 */
export async function releaseUnsold(self: OrdersSelf, ctx: Pick<Context, "call">, ids: string[]): Promise<void> {
  const check = () => ctx.call("products.checkReservations", { ids }, { timeout: 5_000 });
  try {
    await check();
    return;
  } catch (err) {
    self.logger.warn(`Releasing reservation(s) ${ids.join(", ")} failed (${(err as Error)?.message ?? err}); handing it over.`);
  }
  if (self.durable) {
    try {
      await self.durable.publish("reservation.check", { ids }, `reservation.check:${ids.join(",")}:${randomUUID()}`);
      return;
    } catch (err) {
      self.logger.warn(`RabbitMQ did not take the release of ${ids.join(", ")} (${(err as Error)?.message ?? err}).`);
    }
  }
  self.trackBackgroundRetry(retryLater(`Releasing reservation(s) ${ids.join(", ")}`, self.logger, check));
}
