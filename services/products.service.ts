/**
 * products: the catalogue. Anyone may browse active products; admins manage them.
 * Thin actions: validate, authorize (declared `access`), delegate to the db mixin.
 * Images (products/images.actions.ts): `images` (file ids) and `imageUrls` on every product.
 * Stock (products/stock.actions.ts): the reservation ledger for checkout; products/reconcile.ts
 * periodically releases reservations whose order is missing or cancelled, and settles those
 * whose order can no longer be cancelled.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { ShopMeta } from "../types/moleculer.d.ts";
import { DataTypes } from "sequelize";
import { DbMixin } from "../mixins/db.mixin.ts";
import { invalidAll } from "../lib/errors.ts";
import { ownedEntity } from "../middlewares/ownership.ts";
import { stockActions, stockMethods, defineReservations, PRODUCT_GET_CACHE, STOCK_STALE_SEC } from "./products/stock.actions.ts";
import {
  checkReservations,
  reconcileActions,
  reconcileMethods,
  startReconciling,
  stopReconciling,
  type ReconcileMethods,
  type ReconcileVars,
} from "./products/reconcile.ts";
import { DurableEventsMixin, type DurableEventMethods, type DurableEventVars } from "../mixins/durable-events.mixin.ts";
import { shopTopology } from "../mixins/durable-topology.ts";
import { getConfig } from "../lib/config.ts";
import { imageActions, imageMethods, onFileRemoved, type ImageMethods } from "./products/images.actions.ts";
import { parseImages, productHolder } from "../domain/images.ts";
import { hasRole } from "../lib/access.ts";
import { PAGE_PARAMS } from "../lib/listing.ts";
import { isCurrency } from "../lib/currency.ts";
import { productWhere, type ProductFilters } from "./products/filters.ts";
import type { Product, ProductsSettings } from "./products/types.ts";

const MAX_INT = 2_147_483_647;
const SKU = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

const fields = {
  sku: {
    type: "string",
    pattern: SKU,
    messages: { stringPattern: "sku must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit." },
  },
  name: { type: "string", trim: true, min: 1, max: 200 },
  // `multiline`: the gateway's input boundary lets TAB, LF and CR through here (services/api/input-boundary.ts).
  description: { type: "string", max: 5000, multiline: true },
  priceCents: { type: "number", integer: true, min: 0, max: MAX_INT },
  currency: { type: "string", pattern: "^[A-Z]{3}$", messages: { stringPattern: "currency must be an ISO 4217 code such as EUR." } },
  stock: { type: "number", integer: true, min: 0, max: MAX_INT },
  active: { type: "boolean" },
} as const;

const optional = <T extends object>(rule: T) => ({ ...rule, optional: true });

function assertCurrency(currency: unknown) {
  if (currency !== undefined && !isCurrency(currency)) {
    const problem = { type: "currency", field: "currency", message: "currency must be an ISO 4217 code such as EUR.", actual: currency };
    throw invalidAll([problem], { message: "currency is not an ISO 4217 code." });
  }
}

type ProductsMethods = ReconcileMethods & ImageMethods & DurableEventMethods;
type ProductsVars = ReconcileVars & DurableEventVars;

const ProductsService: ServiceSchema<ProductsSettings, ProductsMethods, ProductsVars> = {
  name: "products",
  mixins: [
    DurableEventsMixin,
    DbMixin<Product>({
      table: "products",
      attributes: {
        sku: { type: DataTypes.STRING(64), allowNull: false, unique: true },
        name: { type: DataTypes.STRING(200), allowNull: false },
        description: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
        priceCents: { type: DataTypes.INTEGER, allowNull: false },
        currency: { type: DataTypes.STRING(3), allowNull: false },
        stock: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
        images: { type: DataTypes.JSON, allowNull: false, defaultValue: [] },
      },
      publicFields: ["id", "sku", "name", "description", "priceCents", "currency", "stock", "active", "images", "createdAt", "updatedAt"],
      sortable: ["name", "sku", "priceCents", "stock", "createdAt", "updatedAt"],
      defaultSort: "-createdAt",
      searchable: ["name", "sku", "description"],
    }),
  ],

  settings: {
    rest: "/products",
  },

  async started() {
    this.reservations = defineReservations(this.adapter.db);
    // Reservations that lost their order go back to stock (products/reconcile.ts).
    startReconciling(this);
    // In a cluster, stock to give back also comes through RabbitMQ, so no release is lost when
    // products, orders or the database is down at the moment: retried until done.
    await this.durable?.consume({
      ...shopTopology(getConfig()).products,
      prefetch: 10,
      handle: async ({ event, payload }) => {
        const ids = event === "order.cancelled" ? [(payload as { order: { id: string } }).order.id] : (payload as { ids: string[] }).ids;
        await checkReservations(this, this.broker, ids);
      },
      logger: this.logger,
    });
  },

  async stopped() {
    await stopReconciling(this);
  },

  // Product images: a removed file is detached (one replica handles each event).
  events: {
    "files.removed": onFileRemoved,
  },

  methods: {
    ...imageMethods,
    ...stockMethods,
    ...reconcileMethods,
  },

  actions: {
    ...stockActions,
    ...reconcileActions,
    ...imageActions,

    list: {
      rest: "GET /",
      access: "public",
      cache: {
        keys: ["page", "pageSize", "sort", "search", "minPrice", "maxPrice", "inStock", "active", "currency", "#user.role"],
        ttl: STOCK_STALE_SEC,
      },
      params: {
        $$strict: true,
        ...PAGE_PARAMS,
        search: { type: "string", max: 200, optional: true },
        minPrice: { type: "number", integer: true, min: 0, convert: true, optional: true },
        maxPrice: { type: "number", integer: true, min: 0, convert: true, optional: true },
        inStock: { type: "boolean", convert: true, optional: true },
        active: { type: "boolean", convert: true, optional: true },
        currency: optional(fields.currency),
      },
      async handler(ctx: Context<ProductFilters & { page?: number; pageSize?: number; sort?: string; search?: string }, ShopMeta>) {
        const staff = hasRole(ctx.meta.user, "admin");
        const { page, pageSize, sort, search, ...filters } = ctx.params;
        const result = await this.findPage({ page, pageSize, sort, search, where: productWhere(filters, staff) });
        return { ...result, rows: await this.present(ctx, result.rows) };
      },
    },

    get: {
      rest: "GET /:id",
      access: "public",
      // Stock in a cached read is at most STOCK_STALE_SEC old (products/stock.actions.ts).
      cache: PRODUCT_GET_CACHE,
      // An inactive product does not exist for shoppers; staff see every product.
      ownership: { entity: "Product", staff: "admin", anyone: { active: true } },
      params: { $$strict: true, id: { type: "string", max: 64 } },
      handler(ctx: Context<{ id: string }, ShopMeta>) {
        return this.presentOne(ctx, this.toPublic(ownedEntity<Product>(ctx)));
      },
    },

    create: {
      rest: "POST /",
      access: "admin",
      params: {
        $$strict: true,
        sku: fields.sku,
        name: fields.name,
        description: optional(fields.description),
        priceCents: fields.priceCents,
        currency: fields.currency,
        stock: optional(fields.stock),
        active: optional(fields.active),
      },
      async handler(ctx: Context<Record<string, unknown>, ShopMeta>) {
        assertCurrency(ctx.params.currency);
        const product = await this.insertEntity(ctx, ctx.params);
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `/api/products/${product.id}`;
        return this.presentOne(ctx, product);
      },
    },

    update: {
      rest: "PATCH /:id",
      access: "admin",
      params: {
        $$strict: true,
        id: { type: "string", max: 64 },
        sku: optional(fields.sku),
        name: optional(fields.name),
        description: optional(fields.description),
        priceCents: optional(fields.priceCents),
        currency: optional(fields.currency),
        stock: optional(fields.stock),
        active: optional(fields.active),
      },
      async handler(ctx: Context<Record<string, unknown> & { id: string }, ShopMeta>) {
        const { id, ...changes } = ctx.params;
        if (Object.keys(changes).length === 0) {
          const problem = { type: "required", field: "body", message: "Send at least one field to change." };
          throw invalidAll([problem], { message: "Nothing to update: send at least one field." });
        }
        assertCurrency(changes.currency);
        return this.presentOne(ctx, await this.updateEntity(ctx, id, changes));
      },
    },

    remove: {
      rest: "DELETE /:id",
      access: "admin",
      params: { $$strict: true, id: { type: "string", max: 64 } },
      async handler(ctx: Context<{ id: string }, ShopMeta>) {
        const product = await this.removeEntity(ctx, ctx.params.id);
        // Its images are no longer shown here: the storage service may unpublish them.
        if (parseImages(product.images).length) {
          await ctx
            .call("storage.unlinkHolder", { holder: productHolder(String(product.id)) }, { retries: 0 })
            .catch((err: unknown) => this.logger.warn(`Could not release the images of removed product ${product.id}:`, err));
        }
        ctx.meta.$statusCode = 204;
        return null;
      },
    },
  },
};

export default ProductsService;
