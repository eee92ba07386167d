/**
 * Reservation reconciliation over the real services on PostgreSQL: the two ways a reservation
 * outlives its order (checkout's compensation failed; the release after a cancellation failed)
 * are made by hand, aged past the grace period, and `products.reconcile` gives their stock back
 * exactly once, leaving in-flight checkouts, live orders and everything it cannot verify alone.
 * Reservations of orders that can no longer be cancelled (shipped, delivered) are settled once
 * and never asked about again; those of pending and paid orders stay watched.
 */
import { randomUUID } from "node:crypto";
import { describeWithServers } from "../support/servers.ts";
import { startTestShop, type TestNode } from "../support/node.ts";
import { shopClient } from "../support/shop-client.ts";

const suite = await describeWithServers("postgres");
const MINUTE = 60_000;

suite("reservation reconciliation", () => {
  let node: TestNode;
  let admin: string;
  let alice: string;
  let products: any;
  let orders: any;

  const shop = shopClient(() => node);
  const { http, as } = shop;
  const call = <T = any>(action: string, params: object = {}) => node.broker.call<T, object>(action, params);
  const reconcile = () => call<{ checked: number; released: number; settled: number; skipped?: boolean }>("products.reconcile");
  const sql = <T = any>(query: string, replacements: Record<string, unknown> = {}): Promise<T[]> =>
    products.adapter.db.query(query, { replacements, type: "SELECT" });

  const product = (stock = 10) => shop.product(admin, { name: "Teapot", priceCents: 2500, stock });
  const stockOf = async (id: string) =>
    (await node.broker.call<any, any>("products.get", { id }, { meta: { user: { id: "x", role: "admin" } } })).stock;
  const checkout = (productId: string, quantity: number) => shop.order(alice, productId, quantity);
  const statusOf = async (reservationId: string) => (await products.reservations.findByPk(reservationId))?.get("status");
  /** Make a reservation look `ms` old (its order, if any, is left alone). */
  const age = (reservationId: string, ms: number) =>
    products.adapter.db.query(`UPDATE stock_reservations SET "createdAt" = :at WHERE id = :id`, {
      replacements: { at: new Date(Date.now() - ms), id: reservationId },
    });
  /** The reservations holding stock of one product. */
  const reservationsOf = async (productId: string) =>
    (await sql<{ id: string }>(`SELECT id FROM stock_reservations WHERE items::text LIKE '%' || :productId || '%'`, { productId })).map(
      (r) => r.id,
    );

  /** Replace one action as seen by every caller on this node (ctx.call goes through broker.call). */
  function stubAction(action: string, impl: (params: any) => Promise<unknown>): () => void {
    const original = node.broker.call;
    node.broker.call = function (this: unknown, name: string, params?: any, opts?: any) {
      return name === action ? impl(params) : original.call(node.broker, name, params, opts);
    } as typeof original;
    return () => {
      node.broker.call = original;
    };
  }
  /**
   * Every way orders has to give stock back fails (products.release, products.checkReservations),
   * and the node then dies before its background retry: the gap reconciliation exists for.
   */
  async function withReleasesLost(work: () => Promise<void>) {
    const fail = () => Promise.reject(new Error("simulated: the products node died"));
    const restoreRelease = stubAction("products.release", fail);
    const restoreCheck = stubAction("products.checkReservations", fail);
    try {
      await work();
    } finally {
      for (const retry of orders.backgroundRetries) retry.cancel();
      restoreCheck();
      restoreRelease();
    }
  }
  /** Let every call of one action through, recording the ids it was asked about (one array per call). */
  function watchAction(action: string): { asked: string[][]; restore: () => void } {
    const asked: string[][] = [];
    const original = node.broker.call;
    node.broker.call = function (this: unknown, name: string, params?: any, opts?: any) {
      if (name === action) asked.push([...(params?.ids ?? [])]);
      return original.call(node.broker, name, params, opts);
    } as typeof original;
    return {
      asked,
      restore: () => {
        node.broker.call = original;
      },
    };
  }
  /** Capture the products service's log lines of one level for the duration of `work`. */
  async function loggedDuring<T>(level: "warn" | "error", work: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
    const lines: string[] = [];
    const original = products.logger[level];
    products.logger[level] = (...args: unknown[]) => lines.push(args.map(String).join(" "));
    try {
      return { result: await work(), lines };
    } finally {
      products.logger[level] = original;
    }
  }
  const warningsDuring = async <T>(work: () => Promise<T>) => {
    const { result, lines } = await loggedDuring("warn", work);
    return { result, warnings: lines };
  };
  const unavailable = () =>
    Promise.reject(
      Object.assign(new Error("Service 'orders.reservationStates' is not available."), {
        code: 503,
        type: "SERVICE_NOT_AVAILABLE",
        retryable: true,
      }),
    );

  /** Gap 1: checkout reserved, saving the order failed, and so did the compensating release. */
  async function orphanFromFailedCheckout(productId: string, quantity: number): Promise<string> {
    const db = orders.adapter.db;
    const query = db.query;
    db.query = async function (this: unknown, sql: unknown, ...rest: unknown[]) {
      if (String(sql).startsWith("INSERT INTO orders")) throw new Error("simulated database failure while saving the order");
      return query.call(this, sql, ...rest);
    };
    try {
      await withReleasesLost(async () => expect((await checkout(productId, quantity)).status).toBe(500));
    } finally {
      db.query = query;
    }
    const [id] = await reservationsOf(productId);
    expect(id).toBeDefined();
    expect(await statusOf(id!)).toBe("reserved");
    expect((await call<Record<string, string>>("orders.reservationStates", { ids: [id] }))[id!]).toBe("missing");
    return id!;
  }

  /** Gap 2: an order was cancelled (committed) and the release that follows failed. */
  async function cancelledWithoutRelease(productId: string, quantity: number): Promise<string> {
    const res = await checkout(productId, quantity);
    expect(res.status).toBe(201);
    await withReleasesLost(async () =>
      expect((await http(`/orders/${res.body.id}/cancel`, { method: "POST", headers: as(alice) })).status).toBe(200),
    );
    expect(await statusOf(res.body.id)).toBe("reserved");
    return res.body.id as string;
  }

  /** A checkout by alice, then moved by staff through `statuses` (each must be a legal step). */
  async function orderIn(productId: string, quantity: number, statuses: string[]): Promise<string> {
    const res = await checkout(productId, quantity);
    expect(res.status).toBe(201);
    for (const status of statuses) {
      expect((await http(`/orders/${res.body.id}/status`, { method: "PATCH", headers: as(admin), json: { status } })).status).toBe(200);
    }
    return res.body.id as string;
  }

  beforeAll(async () => {
    node = await startTestShop("reconciliation", { RATE_LIMIT_FACTOR: "100" });
    products = node.broker.getLocalService("products");
    orders = node.broker.getLocalService("orders");
    admin = (await shop.superuser()).token;
    alice = (await shop.shopper("alice")).token;
  });

  afterAll(async () => {
    await node?.stop();
    // Stopping the node stops the periodic run.
    if (products) expect(products.reconcileTimer).toBeUndefined();
  });

  test("orders.reservationStates: open, final, cancelled or missing per id; internal only, at most 500 ids", async () => {
    const p = await product();
    const live = await orderIn(p.id, 1, []);
    const paid = await orderIn(p.id, 1, ["paid"]);
    const shipped = await orderIn(p.id, 1, ["paid", "shipped"]);
    const delivered = await orderIn(p.id, 1, ["paid", "shipped", "delivered"]);
    const cancelled = (await checkout(p.id, 1)).body.id;
    await http(`/orders/${cancelled}/cancel`, { method: "POST", headers: as(alice) });
    const missing = randomUUID();
    expect(await call("orders.reservationStates", { ids: [live, paid, shipped, delivered, cancelled, missing] })).toEqual({
      [live]: "open",
      [paid]: "open",
      [shipped]: "final",
      [delivered]: "final",
      [cancelled]: "cancelled",
      [missing]: "missing",
    });
    // Fresh reservations are not due: nothing here is settled or released by the next tests' runs.
    for (const id of [live, paid, shipped, delivered]) expect(await statusOf(id)).toBe("reserved");
    await expect(call("orders.reservationStates", { ids: Array.from({ length: 501 }, () => randomUUID()) })).rejects.toMatchObject({
      type: "VALIDATION_ERROR",
    });
    await expect(call("orders.reservationStates", { ids: ["not-a-uuid"] })).rejects.toMatchObject({ type: "VALIDATION_ERROR" });
    await expect(call("orders.reservationStates", { ids: [] })).rejects.toMatchObject({ type: "VALIDATION_ERROR" });
    // Not reachable over HTTP, in any spelling.
    for (const path of ["/orders/reservationStates", "/orders/reservation-states", "/products/reconcile"]) {
      expect((await http(path, { method: "POST", headers: as(admin), json: { ids: [missing] } })).status).toBeGreaterThanOrEqual(403);
    }
  });

  test("both gaps come back to stock exactly once; in-flight checkouts and live orders are untouched", async () => {
    const [lost, cancelled, inFlight, live, normal] = await Promise.all([product(10), product(10), product(10), product(10), product(10)]);
    const orphan = await orphanFromFailedCheckout(lost.id, 3);
    const cancelledOrder = await cancelledWithoutRelease(cancelled.id, 4);
    // A checkout still between reserving and saving its order: no order yet, 9 minutes old.
    const young = randomUUID();
    await call("products.reserve", { reservationId: young, items: [{ productId: inFlight.id, quantity: 2 }] });
    await age(young, 9 * MINUTE);
    // A live (paid) order, and an order cancelled the normal way (its release worked).
    const liveOrder = (await checkout(live.id, 5)).body.id;
    await http(`/orders/${liveOrder}/status`, { method: "PATCH", headers: as(admin), json: { status: "paid" } });
    const normalOrder = (await checkout(normal.id, 1)).body.id;
    await http(`/orders/${normalOrder}/cancel`, { method: "POST", headers: as(alice) });
    for (const id of [orphan, cancelledOrder, liveOrder, normalOrder]) await age(id, 60 * MINUTE);
    expect([
      await stockOf(lost.id),
      await stockOf(cancelled.id),
      await stockOf(inFlight.id),
      await stockOf(live.id),
      await stockOf(normal.id),
    ]).toEqual([7, 6, 8, 5, 10]);

    const { result, warnings } = await warningsDuring(reconcile);
    // Due and still reserved: the orphan, the cancelled order's and the live order's reservations.
    expect(result).toEqual({ checked: 3, released: 2, settled: 0 });
    expect([
      await stockOf(lost.id),
      await stockOf(cancelled.id),
      await stockOf(inFlight.id),
      await stockOf(live.id),
      await stockOf(normal.id),
    ]).toEqual([10, 10, 8, 5, 10]);
    expect(await statusOf(orphan)).toBe("released");
    expect(await statusOf(cancelledOrder)).toBe("released");
    expect(await statusOf(young)).toBe("reserved");
    expect(await statusOf(liveOrder)).toBe("reserved");
    // What it released is logged at warn level, with why and what came back.
    expect(warnings.find((w) => w.includes(orphan))).toMatch(new RegExp(`${orphan}.*missing.*3 × ${lost.sku}`));
    expect(warnings.find((w) => w.includes(cancelledOrder))).toMatch(new RegExp(`${cancelledOrder}.*cancelled.*4 × ${cancelled.sku}`));

    // A second run finds nothing to release.
    expect(await reconcile()).toEqual({ checked: 1, released: 0, settled: 0 });
    expect([await stockOf(lost.id), await stockOf(cancelled.id), await stockOf(inFlight.id), await stockOf(live.id)]).toEqual([
      10, 10, 8, 5,
    ]);
    // A late retry of either release changes nothing either.
    expect(await call("products.release", { reservationId: orphan })).toEqual({ released: false });
    expect(await call("products.release", { reservationId: cancelledOrder })).toEqual({ released: false });
    expect(await stockOf(lost.id)).toBe(10);

    // Once the young reservation is past the grace period with still no order, it goes back too.
    await age(young, 11 * MINUTE);
    expect(await reconcile()).toEqual({ checked: 2, released: 1, settled: 0 });
    expect(await stockOf(inFlight.id)).toBe(10);
    // Cleanup for the next tests: the live order's reservation is the only due one left.
    await age(liveOrder, 0);
  });

  test("nothing is released when the orders service cannot be asked or gives no usable answer", async () => {
    const p = await product(10);
    const orphan = await orphanFromFailedCheckout(p.id, 2);
    await age(orphan, 60 * MINUTE);

    // Unreachable (what a caller sees with no orders node, or a node that died mid-call).
    let restore = stubAction("orders.reservationStates", unavailable);
    try {
      const { warnings } = await warningsDuring(() => expect(reconcile()).rejects.toMatchObject({ type: "SERVICE_NOT_AVAILABLE" }));
      expect(warnings.join("\n")).toMatch(/could not be asked/);
    } finally {
      restore();
    }
    // An answer without the ids, or in a shape it does not understand.
    for (const answer of [{}, [], { [orphan]: "gone" }, { [orphan]: "active" }, { [orphan]: "open" }, { [orphan]: "settled" }]) {
      restore = stubAction("orders.reservationStates", async () => answer);
      try {
        expect(await reconcile()).toEqual({ checked: 1, released: 0, settled: 0 });
      } finally {
        restore();
      }
    }
    expect(await stockOf(p.id)).toBe(8);
    expect(await statusOf(orphan)).toBe("reserved");

    // The orders service really stopped on this node: the call fails, nothing is released.
    const schema = orders.originalSchema;
    await node.broker.destroyService(orders);
    try {
      await expect(reconcile()).rejects.toMatchObject({ name: "ServiceNotAvailableError" });
      expect(await stockOf(p.id)).toBe(8);
    } finally {
      orders = node.broker.createService(schema);
      await node.broker.waitForServices(["orders"]);
    }

    // Orders is back: the next run releases it.
    expect(await reconcile()).toEqual({ checked: 1, released: 1, settled: 0 });
    expect(await stockOf(p.id)).toBe(10);
  });

  test("runs on several nodes at once release each reservation once; the advisory lock lets one node do the work", async () => {
    const ps = await Promise.all([product(10), product(10), product(10)]);
    const orphans: string[] = [];
    for (const p of ps) {
      const id = randomUUID();
      await call("products.reserve", { reservationId: id, items: [{ productId: p.id, quantity: 4 }] });
      await age(id, 60 * MINUTE);
      orphans.push(id);
    }
    const cancelledOrder = await cancelledWithoutRelease(ps[0]!.id, 1);
    await age(cancelledOrder, 60 * MINUTE);
    expect(await Promise.all(ps.map((p) => stockOf(p.id)))).toEqual([5, 6, 6]);

    // Another node holds the lock: this one skips the run and releases nothing.
    const { Sequelize } = await import("sequelize");
    const { RECONCILE_LOCK_KEY } = await import("../../services/products/reconcile.ts");
    const other = new Sequelize(
      products.adapter.db.config.database,
      products.adapter.db.config.username,
      products.adapter.db.config.password ?? undefined,
      {
        host: products.adapter.db.config.host,
        port: Number(products.adapter.db.config.port),
        dialect: "postgres",
        logging: false,
      },
    );
    try {
      let unlock!: () => void;
      const held = new Promise<void>((r) => (unlock = r));
      let locked!: () => void;
      const gotLock = new Promise<void>((r) => (locked = r));
      const holder = other.transaction(async (t) => {
        await other.query("SELECT pg_advisory_xact_lock(:key)", { replacements: { key: RECONCILE_LOCK_KEY }, transaction: t });
        locked();
        await held;
      });
      await gotLock;
      expect(await reconcile()).toEqual({ checked: 0, released: 0, settled: 0, skipped: true });
      unlock();
      await holder;
    } finally {
      await other.close();
    }
    expect(await Promise.all(ps.map((p) => stockOf(p.id)))).toEqual([5, 6, 6]);

    // Without the lock (as if every replica ran at the very same moment), the compare-and-set
    // still lets exactly one release through per reservation.
    const runs = await Promise.all([
      products.reconcilePass(node.broker),
      products.reconcilePass(node.broker),
      products.reconcilePass(node.broker),
      reconcile(),
    ]);
    expect(runs.reduce((sum: number, r: { released: number }) => sum + r.released, 0)).toBe(4);
    expect(await Promise.all(ps.map((p) => stockOf(p.id)))).toEqual([10, 10, 10]);
    for (const id of [...orphans, cancelledOrder]) expect(await statusOf(id)).toBe("released");
    expect(await reconcile()).toEqual({ checked: 0, released: 0, settled: 0 });
  });

  test("concurrent releases of one reservation: exactly one gives the stock back", async () => {
    const p = await product(10);
    const id = randomUUID();
    await call("products.reserve", { reservationId: id, items: [{ productId: p.id, quantity: 7 }] });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        i % 2
          ? products.releaseReservation(id)
          : call("products.release", { reservationId: id }).then((r: any) => (r.released ? [] : null)),
      ),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await stockOf(p.id)).toBe(10);
  });

  test("orders that can no longer be cancelled: their reservations are settled by one run and never asked about again", async () => {
    const p = await product(10);
    const delivered = await orderIn(p.id, 2, ["paid", "shipped", "delivered"]);
    const shipped = await orderIn(p.id, 1, ["paid", "shipped"]);
    for (const id of [delivered, shipped]) await age(id, 60 * MINUTE);
    expect(await stockOf(p.id)).toBe(7);

    const watch = watchAction("orders.reservationStates");
    try {
      expect(await reconcile()).toEqual({ checked: 2, released: 0, settled: 2 });
      expect(watch.asked).toHaveLength(1);
      expect([...watch.asked[0]!].sort()).toEqual([delivered, shipped].sort());
      expect(await statusOf(delivered)).toBe("settled");
      expect(await statusOf(shipped)).toBe("settled");
      expect(await stockOf(p.id)).toBe(7); // sold: nothing comes back

      // The next runs read nothing and ask nothing: the work left is what can still need repair.
      watch.asked.length = 0;
      expect(await reconcile()).toEqual({ checked: 0, released: 0, settled: 0 });
      expect(await reconcile()).toEqual({ checked: 0, released: 0, settled: 0 });
      expect(watch.asked).toEqual([]);
    } finally {
      watch.restore();
    }

    // Even an orders service that (wrongly) called them cancelled now is never asked about them.
    const restore = stubAction("orders.reservationStates", async (params: { ids: string[] }) =>
      Object.fromEntries(params.ids.map((id) => [id, "cancelled"])),
    );
    try {
      expect(await reconcile()).toEqual({ checked: 0, released: 0, settled: 0 });
    } finally {
      restore();
    }
    expect(await stockOf(p.id)).toBe(7);
  });

  test("settled reservations are never released: not by products.release, not by a direct release, not by a cancellation", async () => {
    const p = await product(10);
    const delivered = await orderIn(p.id, 4, ["paid", "shipped", "delivered"]);
    await age(delivered, 60 * MINUTE);
    expect(await reconcile()).toEqual({ checked: 1, released: 0, settled: 1 });

    const { result, lines } = await loggedDuring("error", () => call("products.release", { reservationId: delivered }));
    expect(result).toEqual({ released: false });
    expect(lines.join("\n")).toMatch(new RegExp(`settled reservation ${delivered}`));
    expect(await products.releaseReservation(delivered)).toBeNull();
    // The state machine refuses the cancellation that would ask for it.
    const cancel = await http(`/orders/${delivered}/status`, { method: "PATCH", headers: as(admin), json: { status: "cancelled" } });
    expect(cancel.status).toBe(409);
    expect(await statusOf(delivered)).toBe("settled");
    expect(await stockOf(p.id)).toBe(6);
  });

  test(`pending and paid orders stay watched; \
cancelled later, each gives its stock back exactly once (normal path or the job)`, async () => {
    const p = await product(10);
    const pending = await orderIn(p.id, 1, []);
    const paid = await orderIn(p.id, 3, ["paid"]);
    for (const id of [pending, paid]) await age(id, 60 * MINUTE);
    expect(await stockOf(p.id)).toBe(6);

    const watch = watchAction("orders.reservationStates");
    try {
      // Open orders are asked about on every run and keep their reservation.
      expect(await reconcile()).toEqual({ checked: 2, released: 0, settled: 0 });
      expect(await reconcile()).toEqual({ checked: 2, released: 0, settled: 0 });
      expect(watch.asked.map((ids) => [...ids].sort())).toEqual([[pending, paid].sort(), [pending, paid].sort()]);
    } finally {
      watch.restore();
    }
    expect(await statusOf(pending)).toBe("reserved");
    expect(await statusOf(paid)).toBe("reserved");
    expect(await stockOf(p.id)).toBe(6);

    // The pending one is cancelled by its shopper and the release works: the job has nothing to add.
    expect((await http(`/orders/${pending}/cancel`, { method: "POST", headers: as(alice) })).status).toBe(200);
    expect(await statusOf(pending)).toBe("released");
    expect(await stockOf(p.id)).toBe(7);

    // The paid one is cancelled by staff and every release after it is lost: the job gives it back.
    await withReleasesLost(async () =>
      expect((await http(`/orders/${paid}/status`, { method: "PATCH", headers: as(admin), json: { status: "cancelled" } })).status).toBe(
        200,
      ),
    );
    expect(await statusOf(paid)).toBe("reserved");
    expect(await stockOf(p.id)).toBe(7);
    expect(await reconcile()).toEqual({ checked: 1, released: 1, settled: 0 });
    expect(await statusOf(paid)).toBe("released");
    expect(await stockOf(p.id)).toBe(10);

    // Late retries of either release, and further runs, give nothing back twice.
    expect(await call("products.release", { reservationId: paid })).toEqual({ released: false });
    expect(await call("products.release", { reservationId: pending })).toEqual({ released: false });
    expect(await reconcile()).toEqual({ checked: 0, released: 0, settled: 0 });
    expect(await stockOf(p.id)).toBe(10);
  });

  test("the periodic run is scheduled on the products node without keeping the process alive", () => {
    expect(products.reconcileTimer).toBeDefined();
    expect(products.reconcileTimer.hasRef()).toBe(false);
  });
});
