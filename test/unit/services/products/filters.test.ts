import { Op } from "sequelize";
import { productWhere } from "../../../../services/products/filters.ts";

describe("productWhere", () => {
  test("shoppers only ever see active products", () => {
    expect(productWhere({}, false)).toEqual({ active: true });
    expect(productWhere({ active: false }, false)).toEqual({ active: true });
  });
  test("staff see everything unless they filter", () => {
    expect(productWhere({}, true)).toEqual({});
    expect(productWhere({ active: false }, true)).toEqual({ active: false });
  });
  test("price range, stock and currency", () => {
    expect(productWhere({ minPrice: 100, maxPrice: 500, inStock: true, currency: "EUR" }, true)).toEqual({
      priceCents: { [Op.gte]: 100, [Op.lte]: 500 },
      stock: { [Op.gt]: 0 },
      currency: "EUR",
    });
    expect(productWhere({ inStock: false }, true)).toEqual({ stock: 0 });
  });
});
