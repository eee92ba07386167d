/**
 * products: the catalogue. Anyone may browse active products; admins manage them.
 * Thin actions: validate, authorize (declared `access`), delegate to the db mixin.
 */
import { Errors, type Context } from "moleculer";
import { DataTypes } from "sequelize";
import { DbMixin, EntityNotFoundError } from "../mixins/db.mixin.ts";
import { stockActions, defineReservations, type StockMethods } from "./products/stock.actions.ts";
import { hasRole, type Principal } from "../lib/access.ts";
import { defineService } from "../lib/service-schema.ts";
import { PAGE_PARAMS } from "../lib/listing.ts";
import { isCurrency } from "../domain/currency.ts";
import { productWhere, type ProductFilters } from "../domain/product-filters.ts";

const MAX_INT = 2_147_483_647;
const SKU = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

const fields = {
  sku: { type: "string", pattern: SKU, messages: { stringPattern: "sku must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit." } },
  name: { type: "string", trim: true, min: 1, max: 200 },
  description: { type: "string", max: 5000 },
  priceCents: { type: "number", integer: true, min: 0, max: MAX_INT },
  currency: { type: "string", pattern: "^[A-Z]{3}$", messages: { stringPattern: "currency must be an ISO 4217 code such as EUR." } },
  stock: { type: "number", integer: true, min: 0, max: MAX_INT },
  active: { type: "boolean" },
} as const;

const optional = <T extends object>(rule: T) => ({ ...rule, optional: true });

type Meta = { user?: Principal; $statusCode?: number; $location?: string };

function assertCurrency(currency: unknown) {
  if (currency !== undefined && !isCurrency(currency)) {
    throw new Errors.ValidationError("currency is not an ISO 4217 code.", "VALIDATION_ERROR", [
      { type: "currency", field: "currency", message: "currency must be an ISO 4217 code such as EUR.", actual: currency },
    ]);
  }
}

export default defineService<StockMethods>({
  name: "products",
  mixins: [
    DbMixin({
      table: "products",
      attributes: {
        sku: { type: DataTypes.STRING(64), allowNull: false, unique: true },
        name: { type: DataTypes.STRING(200), allowNull: false },
        description: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
        priceCents: { type: DataTypes.INTEGER, allowNull: false },
        currency: { type: DataTypes.STRING(3), allowNull: false },
        stock: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        active: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: true },
      },
      publicFields: ["id", "sku", "name", "description", "priceCents", "currency", "stock", "active", "createdAt", "updatedAt"],
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
  },

  actions: {
    ...stockActions,

    list: {
      rest: "GET /",
      access: "public",
      cache: { keys: ["page", "pageSize", "sort", "search", "minPrice", "maxPrice", "inStock", "active", "currency", "#user.role"] },
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
      handler(ctx: Context<ProductFilters & { page?: number; pageSize?: number; sort?: string; search?: string }, Meta>) {
        const staff = hasRole(ctx.meta.user, "admin");
        const { page, pageSize, sort, search, ...filters } = ctx.params;
        return this.findPage({ page, pageSize, sort, search, where: productWhere(filters, staff) });
      },
    },

    get: {
      rest: "GET /:id",
      access: "public",
      cache: { keys: ["id", "#user.role"] },
      params: { $$strict: true, id: { type: "string", max: 64 } },
      async handler(ctx: Context<{ id: string }, Meta>) {
        const product = await this.getEntity(ctx.params.id);
        // An inactive product does not exist for shoppers.
        if (!product.active && !hasRole(ctx.meta.user, "admin")) throw new EntityNotFoundError("Product", ctx.params.id);
        return product;
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
      async handler(ctx: Context<Record<string, unknown>, Meta>) {
        assertCurrency(ctx.params.currency);
        const product = await this.insertEntity(ctx, ctx.params);
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `/api/products/${product.id}`;
        return product;
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
      async handler(ctx: Context<Record<string, unknown> & { id: string }, Meta>) {
        const { id, ...changes } = ctx.params;
        if (Object.keys(changes).length === 0) {
          throw new Errors.ValidationError("Nothing to update: send at least one field.", "VALIDATION_ERROR", [
            { type: "required", field: "body", message: "Send at least one field to change." },
          ]);
        }
        assertCurrency(changes.currency);
        return this.updateEntity(ctx, id, changes);
      },
    },

    remove: {
      rest: "DELETE /:id",
      access: "admin",
      params: { $$strict: true, id: { type: "string", max: 64 } },
      async handler(ctx: Context<{ id: string }, Meta>) {
        await this.removeEntity(ctx, ctx.params.id);
        ctx.meta.$statusCode = 204;
        return null;
      },
    },
  },
});
