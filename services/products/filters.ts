/**
 * List filters for products as a Sequelize where clause. Shoppers only ever see active
 * products; staff may filter on `active` themselves.
 */
import { Op, type WhereOptions } from "sequelize";

export interface ProductFilters {
  minPrice?: number;
  maxPrice?: number;
  inStock?: boolean;
  active?: boolean;
  currency?: string;
}

export function productWhere(filters: ProductFilters, staff: boolean): WhereOptions {
  const where: Record<string | symbol, unknown> = {};
  const price: Record<symbol, number> = {};
  if (filters.minPrice !== undefined) price[Op.gte] = filters.minPrice;
  if (filters.maxPrice !== undefined) price[Op.lte] = filters.maxPrice;
  if (Object.getOwnPropertySymbols(price).length) where.priceCents = price;
  if (filters.inStock === true) where.stock = { [Op.gt]: 0 };
  if (filters.inStock === false) where.stock = 0;
  if (filters.currency) where.currency = filters.currency;
  if (!staff) where.active = true;
  else if (filters.active !== undefined) where.active = filters.active;
  return where as WhereOptions;
}
