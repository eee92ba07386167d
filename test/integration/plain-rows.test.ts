/**
 * The db mixin's `findPlainRow` (what the ownership middleware loads) gives exactly the values a
 * model instance gives, for every service's rows, on PostgreSQL: there, for models without
 * getters or setters, it reads them with one bound SELECT and builds no instance.
 */
import { jest } from "@jest/globals";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient } from "../support/shop-client.ts";

const suite = await describeWithServers("postgres");

suite("findPlainRow on PostgreSQL", () => {
  let node: TestNode;
  const shop = shopClient(() => node);
  const service = (name: string) => node.broker.getLocalService(name) as any;
  const both = async (name: string, id: string) => ({
    plain: await service(name).findPlainRow(id),
    instance: (await service(name).findRow(id))?.get({ plain: true }) ?? null,
  });

  beforeAll(async () => {
    node = await startTestShop("plain_rows");
  });
  afterAll(() => node?.stop());

  test("the same values as a model instance, for products, users and orders", async () => {
    const boss = await shop.superuser();
    const product = await shop.product(boss.token, { description: "A kettle", stock: 3 });
    const buyer = await shop.shopper("plain");
    const order = await shop.order(buyer.token, product.id, 2);
    expect(order.status).toBe(201);

    for (const [name, id] of [
      ["products", product.id],
      ["users", buyer.id],
      ["orders", order.body.id],
    ] as const) {
      const { plain, instance } = await both(name, id);
      expect(plain).not.toBeNull();
      expect({ name, ...plain }).toEqual({ name, ...instance });
    }
    for (const name of ["products", "users", "orders"]) {
      expect(await service(name).findPlainRow("00000000-0000-4000-8000-000000000000")).toBeNull();
      expect(await service(name).findPlainRow("not-a-uuid")).toBeNull();
    }
  });

  test("a product's row is one bound SELECT, with no model instance built", async () => {
    const boss = await shop.superuser("boss2");
    const product = await shop.product(boss.token);
    const products = service("products");
    const findByPk = jest.spyOn(products.adapter.model, "findByPk");
    const query = jest.spyOn(products.adapter.db, "query");
    try {
      expect(await products.findPlainRow(product.id)).toMatchObject({ id: product.id, sku: product.sku });
      expect(findByPk).not.toHaveBeenCalled();
      expect(query).toHaveBeenCalledTimes(1);
      // The id goes in the statement's text (escaped), so PostgreSQL gets one simple query, not Parse/Bind/Execute.
      expect(String(query.mock.calls[0]![0])).toMatch(/^SELECT .* FROM "products" WHERE "id" = \?$/);
      expect(query.mock.calls[0]![1]).toMatchObject({ replacements: [product.id] });
      expect(query.mock.calls[0]![1]).not.toHaveProperty("bind");
    } finally {
      findByPk.mockRestore();
      query.mockRestore();
    }
  });
});
