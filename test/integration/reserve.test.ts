/**
 * products.reserve on real PostgreSQL: one call takes the stock of every line (or none) and
 * answers the snapshot an order needs; it is idempotent by reservation id (a retry, even a
 * concurrent one, returns the first reservation and takes the stock once); unknown, inactive
 * and mixed-currency lines are 422s decided inside its transaction, ahead of a 409 for stock.
 */
import { randomUUID } from "node:crypto";
import { jest } from "@jest/globals";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient } from "../support/shop-client.ts";
import { until } from "../../scripts/support/until.ts";
import { STOCK_STALE_SEC } from "../../services/products/stock.actions.ts";
import { ROLES } from "../../lib/access.ts";

const suite = await describeWithServers("postgres");

suite("products.reserve", () => {
  let node: TestNode;
  let admin: string;
  const shop = shopClient(() => node);
  const product = (fields: Record<string, unknown> = {}) => shop.product(admin, { name: "Kettle", priceCents: 4200, stock: 10, ...fields });
  const reserve = (reservationId: string, items: { productId: string; quantity: number }[]) =>
    node.broker.call<any[], object>("products.reserve", { reservationId, items });
  const refused = (p: Promise<unknown>) =>
    p.then(
      () => ({ code: 0 }) as any,
      (err: any) => err,
    );
  const stockOf = async (id: string) =>
    (await node.broker.call<any, any>("products.get", { id }, { meta: { user: { id: "x", role: "admin" } } })).stock;
  const reservations = async (id: string) =>
    (await (node.broker.getLocalService("products") as any).reservations.count({ where: { id } })) as number;

  beforeAll(async () => {
    node = await startTestShop("reserve");
    admin = (await shop.superuser()).token;
  });

  afterAll(async () => {
    await node?.stop();
  });

  test("answers each line's snapshot (sorted by product) and takes the stock", async () => {
    const a = await product({ name: "A", priceCents: 100 });
    const b = await product({ name: "B", priceCents: 250, stock: 5 });
    const id = randomUUID();
    const lines = await reserve(id, [
      { productId: b.id, quantity: 2 },
      { productId: a.id, quantity: 1 },
    ]);
    const line = (p: any, quantity: number) => ({
      productId: p.id,
      sku: p.sku,
      name: p.name,
      unitPriceCents: p.priceCents,
      currency: "EUR",
      quantity,
    });
    expect(lines).toEqual([line(a, 1), line(b, 2)].toSorted((x, y) => (x.productId < y.productId ? -1 : 1)));
    expect([await stockOf(a.id), await stockOf(b.id)]).toEqual([9, 3]);
    expect(await reservations(id)).toBe(1);
  });

  test("a retry with the same id returns the first reservation and takes nothing more, even once the stock ran out", async () => {
    const p = await product({ stock: 3 });
    const id = randomUUID();
    const first = await reserve(id, [{ productId: p.id, quantity: 2 }]);
    expect(await reserve(id, [{ productId: p.id, quantity: 2 }])).toEqual(first);
    expect(await stockOf(p.id)).toBe(1);
    // Not enough left for a second take: the retry still answers the first reservation.
    expect(await reserve(id, [{ productId: p.id, quantity: 2 }])).toEqual(first);
    // The product was taken off sale meanwhile: still the first answer.
    await shop.http(`/products/${p.id}`, { method: "PATCH", headers: shop.as(admin), json: { active: false } });
    expect(await reserve(id, [{ productId: p.id, quantity: 2 }])).toEqual(first);
    expect(await stockOf(p.id)).toBe(1);
  });

  test("concurrent reserves of one id: every call gets the same lines, the stock is taken once", async () => {
    const p = await product({ stock: 100 });
    const id = randomUUID();
    const answers = await Promise.all(Array.from({ length: 8 }, () => reserve(id, [{ productId: p.id, quantity: 3 }])));
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(await stockOf(p.id)).toBe(97);
    expect(await reservations(id)).toBe(1);
  });

  test("unknown, malformed and inactive products are 422s by line, before any 409; nothing is taken", async () => {
    const ok = await product();
    const scarce = await product({ stock: 1 });
    const inactive = await product({ active: false });
    const err = await refused(
      reserve(randomUUID(), [
        { productId: ok.id, quantity: 1 },
        { productId: randomUUID(), quantity: 1 },
        { productId: "not-a-uuid", quantity: 1 },
        { productId: inactive.id, quantity: 1 },
        { productId: scarce.id, quantity: 5 },
      ]),
    );
    expect(err).toMatchObject({ code: 422, type: "VALIDATION_ERROR", message: "No such product is for sale." });
    expect(err.data).toEqual(
      [1, 2, 3].map((i) => ({ field: `items[${i}].productId`, message: "No such product is for sale.", type: "unknownProduct" })),
    );
    expect([await stockOf(ok.id), await stockOf(scarce.id)]).toEqual([10, 1]);
  });

  test("mixed currencies are a 422 naming the other lines, also when one line is short; nothing is taken", async () => {
    const eur = await product();
    const usd = await product({ currency: "USD", stock: 1 });
    for (const quantity of [1, 5]) {
      const id = randomUUID();
      const err = await refused(
        reserve(id, [
          { productId: eur.id, quantity: 1 },
          { productId: usd.id, quantity },
        ]),
      );
      expect(err).toMatchObject({ code: 422, data: [{ field: "items[1].productId", type: "currency" }] });
      expect(await reservations(id)).toBe(0);
    }
    expect([await stockOf(eur.id), await stockOf(usd.id)]).toEqual([10, 1]);
  });

  test("not enough stock: 409 INSUFFICIENT_STOCK naming the short products; nothing taken from any line", async () => {
    const plenty = await product();
    const scarce = await product({ stock: 1 });
    const id = randomUUID();
    const err = await refused(
      reserve(id, [
        { productId: plenty.id, quantity: 3 },
        { productId: scarce.id, quantity: 2 },
      ]),
    );
    expect(err).toMatchObject({ code: 409, type: "INSUFFICIENT_STOCK", data: { productIds: [scarce.id] } });
    expect([await stockOf(plenty.id), await stockOf(scarce.id)]).toEqual([10, 1]);
    expect(await reservations(id)).toBe(0);
  });

  test(`a reservation drops this node's cached reads of its products only, whoever read them, and sends no \
cache.clean; any cached read expires within STOCK_STALE_SEC`, async () => {
    const taken = await product({ name: "Taken" });
    const other = await product({ name: "Other" });
    // Over HTTP as anyone, and as each role (a cached read's key holds the caller's role).
    const readers = [
      async (id: string) => (await shop.http(`/products/${id}`)).body,
      ...ROLES.map((role) => (id: string) => node.broker.call<any, any>("products.get", { id }, { meta: { user: { id: "x", role } } })),
    ];
    const readAll = (id: string) => Promise.all(readers.map((read) => read(id)));
    expect((await readAll(taken.id)).map((p) => p.stock)).toEqual([10, 10, 10, 10]);
    expect((await readAll(other.id)).map((p) => p.stock)).toEqual([10, 10, 10, 10]);
    // Behind the service's back, so a cached copy shows the old name.
    const sequelize = (node.broker.getLocalService("products") as any).adapter.db;
    await sequelize.query(`UPDATE products SET name = 'renamed' WHERE id IN ('${taken.id}', '${other.id}')`);
    const broadcasts = jest.spyOn(node.broker, "broadcast");
    try {
      await reserve(randomUUID(), [{ productId: taken.id, quantity: 4 }]);
      expect(broadcasts.mock.calls.map((c) => String(c[0])).filter((e) => e.startsWith("cache.clean"))).toEqual([]);
    } finally {
      broadcasts.mockRestore();
    }
    expect((await readAll(taken.id)).map((p) => `${p.name} ${p.stock}`)).toEqual(Array(4).fill("renamed 6"));
    expect((await readAll(other.id)).map((p) => p.name)).toEqual(Array(4).fill("Other")); // still the cached copies
    const started = Date.now();
    await until("the cached read to expire", async () => (await readers[0]!(other.id)).name === "renamed", {
      timeoutMs: (STOCK_STALE_SEC + 2) * 1000,
    });
    expect(Date.now() - started).toBeLessThanOrEqual((STOCK_STALE_SEC + 2) * 1000);
  });

  test("a reservation that can be made is one statement and no transaction; a refused one is worked out in a transaction", async () => {
    const sequelize = (node.broker.getLocalService("products") as any).adapter.db;
    const queries = jest.spyOn(sequelize, "query");
    const transactions = jest.spyOn(sequelize, "transaction");
    try {
      const p = await product({ stock: 3 });
      queries.mockClear();
      await reserve(randomUUID(), [{ productId: p.id, quantity: 2 }]);
      expect(queries.mock.calls.map((c) => String(c[0]).trim().split(/\s+/)[0])).toEqual(["SELECT"]);
      expect(transactions).not.toHaveBeenCalled();
      const err = await refused(reserve(randomUUID(), [{ productId: p.id, quantity: 2 }]));
      expect(err).toMatchObject({ code: 409, type: "INSUFFICIENT_STOCK", data: { productIds: [p.id] } });
      expect(transactions).toHaveBeenCalledTimes(1);
      expect(await stockOf(p.id)).toBe(1);
    } finally {
      queries.mockRestore();
      transactions.mockRestore();
    }
  });

  test("a reservation that ends after its checkout's deadline gives its stock back and answers 504", async () => {
    const p = await product({ stock: 5 });
    const id = randomUUID();
    // Another session holds the product's row, so the reservation waits past its deadline.
    const sequelize = (node.broker.getLocalService("products") as any).adapter.db;
    const holder = await sequelize.transaction();
    await sequelize.query(`SELECT id FROM products WHERE id = '${p.id}' FOR UPDATE`, { transaction: holder });
    const late = refused(
      node.broker.call(
        "products.reserve",
        { reservationId: id, items: [{ productId: p.id, quantity: 2 }] },
        { meta: { deadline: Date.now() + 300 } },
      ),
    );
    await new Promise((r) => setTimeout(r, 600));
    await holder.commit();
    expect(await late).toMatchObject({ code: 504, type: "DEADLINE_EXCEEDED" });
    expect(await stockOf(p.id)).toBe(5);
    const row = await (node.broker.getLocalService("products") as any).reservations.findByPk(id);
    expect(row?.get("status") ?? "none").toMatch(/^(released|none)$/);
  });
});
