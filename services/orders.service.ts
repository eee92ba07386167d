/**
 * orders: checkout and the order lifecycle. Checkout is a small saga:
 *   1. validate the cart (422 for a product named twice);
 *   2. products.reserve — all lines or none, keyed by the new order's id, answering the products'
 *      snapshots (422 for unknown, inactive, mixed currency; 409 INSUFFICIENT_STOCK);
 *   3. save the order, with its `order.created` in the orders outbox (one transaction); if that
 *      fails, products.release gives the stock back (compensation).
 * Status changes are compare-and-set on the status, so two concurrent changes cannot both
 * win, and a cancellation releases the stock exactly once. Each change writes its events to
 * the outbox in its own transaction; they are published after the commit (integrations/messaging/outbox.ts).
 * With PENDING_ORDER_TTL, unpaid orders are cancelled by `system` once they are that old.
 */
import { randomUUID } from "node:crypto";
import { Context, type ServiceSchema } from "moleculer";
import type { ShopMeta } from "../types/moleculer.d.ts";
import { DataTypes, Op, col, fn, type Model, type Transaction, type WhereOptions } from "sequelize";
import { DbMixin } from "../mixins/db.mixin.ts";
import { PAGE_PARAMS } from "../lib/listing.ts";
import { contactOf, hasRole } from "../lib/access.ts";
import { conflict } from "../lib/errors.ts";
import { runSaga } from "../lib/saga.ts";
import {
  ORDER_STATUSES,
  SYSTEM_ACTOR,
  allowedNext,
  canTransition,
  customerHistory,
  releasesStock,
  shopperMay,
  unpaidCutoff,
  type OrderStatus,
  type StatusChange,
} from "../domain/order-status.ts";
import { graceMs, reservationState, RECONCILE_BATCH, type ReservationState } from "../domain/reconciliation.ts";
import { getConfig } from "../lib/config.ts";
import { every } from "../lib/every.ts";
import { IdempotencyStore } from "./orders/idempotency.ts";
import { announcementId, checkoutSteps, releaseUnsold, startCheckout, type CheckoutParams } from "./orders/checkout.ts";
import type { Order, OrderRow, OrdersMethods, OrdersSelf as Self, OrdersSettings, OrdersVars } from "./orders/types.ts";
import { ownedEntity, ownedScope, type Ownership } from "../middlewares/ownership.ts";
import { DurableEventsMixin } from "../mixins/durable-events.mixin.ts";

const ADDRESS = {
  type: "object",
  strict: true,
  props: {
    name: { type: "string", trim: true, min: 1, max: 100 },
    line1: { type: "string", trim: true, min: 1, max: 200 },
    line2: { type: "string", trim: true, max: 200, optional: true },
    city: { type: "string", trim: true, min: 1, max: 100 },
    postalCode: { type: "string", trim: true, min: 1, max: 20 },
    country: {
      type: "string",
      pattern: "^[A-Z]{2}$",
      messages: { stringPattern: "country must be an ISO 3166-1 alpha-2 code such as DE." },
    },
    phone: { type: "string", trim: true, max: 40, optional: true },
  },
} as const;

const ITEMS = {
  type: "array",
  min: 1,
  max: 100,
  items: {
    type: "object",
    strict: true,
    props: {
      productId: { type: "string", max: 64 },
      quantity: { type: "number", integer: true, min: 1, max: 1000 },
    },
  },
} as const;

/** A note with a status change; it may have several lines (the gateway's input boundary lets TAB, LF and CR through). */
const REASON = { type: "string", trim: true, max: 500, optional: true, multiline: true } as const;

/** Shoppers see their own orders (anyone else's is "not found"), staff everyone's. */
const OWN_ORDERS: Ownership = { entity: "Order", owner: "userId", staff: "admin" };

/** `GET /api/orders`: a page, and the filters. */
type ListParams = { page?: number; pageSize?: number; sort?: string; status?: OrderStatus; userId?: string; from?: Date; to?: Date };

const SWEEP_EVERY_MS = 3_600_000;
/**
 * A checkout saves its order within half the reconciliation grace period after reserving, or
 * not at all (it rolls back and releases): reconciliation only releases reservations older than
 * the whole grace period, so it can never release the stock of an order that is still saving.
 */
const SAVE_DEADLINE_MS = graceMs(getConfig().requestTimeoutMs) / 2;

const OrdersService: ServiceSchema<OrdersSettings, OrdersMethods, OrdersVars> = {
  name: "orders",
  mixins: [
    DurableEventsMixin,
    DbMixin<Order>({
      table: "orders",
      attributes: {
        userId: { type: DataTypes.UUID, allowNull: false },
        status: { type: DataTypes.STRING(16), allowNull: false },
        items: { type: DataTypes.JSON, allowNull: false },
        // BIGINT comes back from PostgreSQL as a string; amounts stay far below 2^53.
        totalCents: {
          type: DataTypes.BIGINT,
          allowNull: false,
          get(this: Model) {
            return Number(this.getDataValue("totalCents"));
          },
        },
        currency: { type: DataTypes.STRING(3), allowNull: false },
        shippingAddress: { type: DataTypes.JSON, allowNull: false },
        statusHistory: { type: DataTypes.JSON, allowNull: false },
        idempotencyKey: { type: DataTypes.STRING(255) },
      },
      publicFields: [
        "id",
        "userId",
        "status",
        "items",
        "totalCents",
        "currency",
        "shippingAddress",
        "statusHistory",
        "createdAt",
        "updatedAt",
      ],
      sortable: ["createdAt", "updatedAt", "totalCents", "status"],
      defaultSort: "-createdAt",
    }),
  ],

  settings: {
    rest: "/orders",
    saveDeadlineMs: SAVE_DEADLINE_MS,
    // No checkout can still commit that long after its claim (it would have missed its deadline).
    claimStaleMs: 2 * getConfig().requestTimeoutMs,
    outboxTable: "orders_outbox",
    pendingTtlSec: getConfig().orders.pendingTtlSec,
  },
  dependencies: [],

  created() {
    this.backgroundRetries = new Set();
  },

  async started() {
    this.idempotency = new IdempotencyStore(this.adapter.db);
    // Expired Idempotency-Keys (24 h) are deleted hourly, so the table holds one day of keys.
    this.sweepTimer = every(SWEEP_EVERY_MS, "Sweeping expired idempotency keys", this.logger, () => this.idempotency.sweep());
    // Unpaid orders expire (PENDING_ORDER_TTL): checked every minute, or 4 times per TTL.
    const ttlSec = this.settings.pendingTtlSec;
    if (ttlSec > 0)
      this.expiryTimer = every(Math.min(60_000, (ttlSec * 1000) / 4), "Cancelling unpaid orders", this.logger, () => this.expireUnpaid());
  },

  stopped() {
    clearInterval(this.sweepTimer);
    clearInterval(this.expiryTimer);
    // Releases still waiting for products go with the node: reconciliation takes them over.
    for (const retry of this.backgroundRetries) retry.cancel();
  },

  actions: {
    create: {
      rest: "POST /",
      access: "user",
      params: { $$strict: true, items: ITEMS, shippingAddress: ADDRESS },
      /** Claim the key, check the cart, reserve the stock, save the order (services/orders/checkout.ts). */
      async handler(this: Self, ctx: Context<CheckoutParams, ShopMeta>) {
        const checkout = await runSaga(startCheckout(ctx), checkoutSteps(this), (step, err) =>
          this.logger.error(`Checkout: undoing "${step}" failed.`, err),
        );
        ctx.meta.$location = `/api/orders/${checkout.order!.id}`;
        if (checkout.replayedStatus) {
          ctx.meta.$statusCode = checkout.replayedStatus;
          ctx.meta.$responseHeaders = { "Idempotent-Replayed": "true" };
        } else ctx.meta.$statusCode = 201;
        return this.viewFor(ctx, checkout.order!);
      },
    },

    list: {
      rest: "GET /",
      access: "authenticated",
      ownership: { ...OWN_ORDERS, list: true },
      params: {
        $$strict: true,
        ...PAGE_PARAMS,
        status: { type: "enum", values: [...ORDER_STATUSES], optional: true },
        userId: { type: "uuid", optional: true },
        from: { type: "date", convert: true, optional: true },
        to: { type: "date", convert: true, optional: true },
      },
      async handler(this: Self, ctx: Context<ListParams, ShopMeta>) {
        const { page, pageSize, sort, status, userId, from, to } = ctx.params;
        const where: Record<string, unknown> = {};
        if (userId) where.userId = userId;
        if (status) where.status = status;
        if (from || to) where.createdAt = { ...(from ? { [Op.gte]: from } : {}), ...(to ? { [Op.lte]: to } : {}) };
        // Last: shoppers see their own orders, whatever they ask for.
        Object.assign(where, ownedScope(ctx));
        const result = await this.findPage({ page, pageSize, sort, where: where as WhereOptions });
        return { ...result, rows: result.rows.map((row) => this.viewFor(ctx, row)) };
      },
    },

    get: {
      rest: "GET /:id",
      access: "authenticated",
      ownership: OWN_ORDERS,
      params: { $$strict: true, id: { type: "string", max: 64 } },
      handler(this: Self, ctx: Context<{ id: string }, ShopMeta>) {
        return this.viewFor(ctx, this.toPublic(ownedEntity<OrderRow>(ctx)));
      },
    },

    cancel: {
      rest: "POST /:id/cancel",
      access: "authenticated",
      ownership: OWN_ORDERS,
      params: { $$strict: true, id: { type: "string", max: 64 }, reason: REASON },
      async handler(this: Self, ctx: Context<{ id: string; reason?: string }, ShopMeta>) {
        const order = this.toPublic(ownedEntity<OrderRow>(ctx));
        if (!hasRole(ctx.meta.user, "admin") && !shopperMay(order.status, "cancelled")) {
          throw conflict(`A ${order.status} order can no longer be cancelled here; contact the shop.`, "ILLEGAL_TRANSITION", {
            from: order.status,
            to: "cancelled",
          });
        }
        return this.viewFor(ctx, await this.changeStatus(ctx, order, "cancelled", ctx.params.reason));
      },
    },

    setStatus: {
      rest: "PATCH /:id/status",
      access: "admin",
      ownership: OWN_ORDERS,
      params: {
        $$strict: true,
        id: { type: "string", max: 64 },
        status: { type: "enum", values: [...ORDER_STATUSES] },
        reason: REASON,
      },
      async handler(this: Self, ctx: Context<{ id: string; status: OrderStatus; reason?: string }, ShopMeta>) {
        return this.changeStatus(ctx, this.toPublic(ownedEntity<OrderRow>(ctx)), ctx.params.status, ctx.params.reason);
      },
    },

    /**
     * For the products service's reconciliation job (services/products/reconcile.ts): the state
     * of the order behind each stock reservation (reservation ids are order ids): `open` (may
     * still be cancelled: pending, paid), `final` (can never be cancelled: shipped, delivered;
     * its reservation is settled), `cancelled`, or `missing` (domain/reconciliation.ts). One
     * query per call; a database error fails the call, so nothing is ever reported missing or
     * final on doubt. Never over HTTP.
     */
    reservationStates: {
      access: "internal",
      idempotent: true,
      visibility: "public",
      params: { $$strict: true, ids: { type: "array", min: 1, max: RECONCILE_BATCH, items: { type: "uuid" } } },
      async handler(this: Self, ctx: Context<{ ids: string[] }>) {
        const rows = await this.adapter.model.findAll({
          attributes: ["id", "status"],
          where: { id: { [Op.in]: [...new Set(ctx.params.ids)] } },
        });
        const status = new Map(rows.map((r) => [String(r.get("id")), String(r.get("status"))]));
        const states: Record<string, ReservationState> = {};
        for (const id of ctx.params.ids) states[id] = reservationState(status.get(id));
        return states;
      },
    },

    /**
     * Operator tool (the REPL's `orders`, repl/commands.ts): how many orders are in each
     * status and what they add up to, per currency. One GROUP BY, never over HTTP.
     */
    summary: {
      access: "internal",
      idempotent: true,
      visibility: "public",
      params: { $$strict: true },
      async handler(this: Self) {
        const rows = await this.adapter.model.findAll({
          attributes: ["status", "currency", [fn("COUNT", col("id")), "count"], [fn("SUM", col("totalCents")), "totalCents"]],
          group: ["status", "currency"],
          order: [
            ["status", "ASC"],
            ["currency", "ASC"],
          ],
        });
        // PostgreSQL returns COUNT and SUM(bigint) as strings.
        return rows.map((r) => ({
          status: String(r.get("status")),
          currency: String(r.get("currency")),
          count: Number(r.get("count")),
          totalCents: Number(r.get("totalCents")),
        }));
      },
    },
  },

  methods: {
    /** An order as the caller may see it: staff the stored history, its customer `customerHistory` (no staff ids or notes). */
    viewFor(this: Self, ctx: Context<unknown, ShopMeta>, order: Order): Order {
      if (hasRole(ctx.meta.user, "admin")) return order;
      return { ...order, statusHistory: customerHistory(order.statusHistory, order.userId) };
    },

    async changeStatus(this: Self, ctx: Context<unknown, ShopMeta>, order: Order, to: OrderStatus, reason?: string): Promise<Order> {
      const from = order.status;
      if (!canTransition(from, to)) {
        throw conflict(`An order cannot go from ${from} to ${to}.`, "ILLEGAL_TRANSITION", { from, to, allowed: allowedNext(from) });
      }
      const change: StatusChange = {
        from,
        to,
        at: new Date().toISOString(),
        by: ctx.meta.user?.id ?? SYSTEM_ACTOR,
        ...(reason ? { reason } : {}),
      };
      const customer = await this.customerOf(ctx, order.userId);
      // The change and its announcements (the customer's e-mails) commit together.
      const updated = await this.inTransaction(ctx, async (transaction) => {
        const [won] = await this.adapter.model.update(
          { status: to, statusHistory: [...order.statusHistory, change] },
          { where: { id: order.id, status: from }, transaction },
        );
        if (won !== 1) throw conflict("The order was changed at the same time; reload it and try again.", "CONCURRENT_CHANGE");
        const now = this.toPublic((await this.findRow(order.id, transaction))!);
        await this.announce(ctx, transaction, "order.status-changed", now, customer, { from, to, by: change.by, reason: reason ?? null });
        if (to === "cancelled")
          await this.announce(ctx, transaction, "order.cancelled", now, customer, { from, by: change.by, reason: reason ?? null });
        return now;
      });
      // The stock goes back now; products also releases it when `order.cancelled` reaches it
      // through RabbitMQ, and releaseUnsold hands it over when products cannot be reached.
      if (releasesStock(from, to)) {
        await ctx.call("products.release", { reservationId: order.id }).catch(() => releaseUnsold(this, ctx, [order.id]));
      }
      return updated;
    },

    /**
     * Cancel the pending orders older than PENDING_ORDER_TTL (100 per run, oldest first): their
     * stock comes back and the customer gets the cancellation e-mail; the history says `system`.
     * Replicas may run it at once: the compare-and-set in changeStatus lets one of them win.
     */
    async expireUnpaid(this: Self, now = new Date()): Promise<number> {
      const ttlSec = this.settings.pendingTtlSec;
      const cutoff = unpaidCutoff(now, ttlSec);
      if (!cutoff) return 0;
      const rows = await this.adapter.model.findAll({
        where: { status: "pending", createdAt: { [Op.lt]: cutoff } },
        order: [["createdAt", "ASC"]],
        limit: 100,
      });
      let expired = 0;
      for (const row of rows) {
        // A context of its own per order: its request id ties the log lines and events together.
        const ctx: Context<unknown, ShopMeta> = Context.create(this.broker);
        ctx.requestID = `expire-${randomUUID()}`;
        ctx.meta = {};
        try {
          await this.changeStatus(ctx, this.toPublic(row), "cancelled", `Not paid within ${Math.round(ttlSec / 60)} minutes.`);
          expired++;
        } catch (err) {
          // Paid or cancelled at the same moment (here or on another replica): nothing to do.
          if ((err as { type?: string }).type !== "CONCURRENT_CHANGE") throw err;
        }
      }
      if (expired) this.logger.info(`Cancelled ${expired} order(s) not paid within ${ttlSec} s.`);
      return expired;
    },

    trackBackgroundRetry(this: Self, retry) {
      this.backgroundRetries.add(retry);
      void retry.done.finally(() => this.backgroundRetries.delete(retry));
    },

    /**
     * How to reach an order's customer, for its notifications (null when users cannot say): the
     * caller's own principal when the customer is the caller (it carries the e-mail and name,
     * users.principal), else users.contact.
     */
    customerOf(this: Self, ctx: Context<unknown, ShopMeta>, userId: string): Promise<unknown> {
      const contact = contactOf(ctx.meta.user, userId);
      if (contact) return Promise.resolve(contact);
      return ctx.call("users.contact", { id: userId }, { timeout: 3_000 }).catch(() => null);
    },

    /**
     * Events carry everything a notification needs: the order and how to reach its customer.
     * They are durable (the mail node may be down) and written in the change's transaction;
     * the id makes redeliveries recognisable.
     */
    async announce(
      this: Self,
      ctx: Context<unknown, ShopMeta>,
      transaction: Transaction,
      event: string,
      order: Order,
      customer: unknown,
      extra: Record<string, unknown> = {},
    ) {
      await this.emitDurable(ctx, event, { order, customer, ...extra }, announcementId(event, order, extra.to), transaction);
    },
  },
};

export default OrdersService;
