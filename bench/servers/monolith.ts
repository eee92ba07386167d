/**
 * Anchor: the monolith a user would pick instead, Fastify + Sequelize on the shop's own
 * (migrated) PostgreSQL schema, with the shop's pool size (DB_POOL_MAX, default 10):
 *
 *   GET  /api/products/:id   `findByPk` by primary key, the row as JSON (404 when there is none)
 *   POST /api/orders         checkout: the bearer JWT checked (HS256 only, issuer, audience,
 *                            expiry), the body checked by a JSON schema, then one transaction
 *                            that locks and decrements each line's stock (a conditional
 *                            UPDATE … RETURNING, lines in id order), inserts the order and its
 *                            `order.created` outbox row; 201 with the order, 409 when short
 *
 * Environment: DATABASE_URL, PORT, JWT_SECRET (and BENCH_JWT_ISSUER / BENCH_JWT_AUDIENCE).
 * Prints one line `ready` once it listens.
 */
import { randomUUID } from "node:crypto";
import Fastify from "fastify";
import jwt from "jsonwebtoken";
import { DataTypes, Op, Sequelize, literal } from "sequelize";

const secret = process.env.JWT_SECRET;
if (!process.env.DATABASE_URL || !secret) throw new Error("DATABASE_URL and JWT_SECRET must be set");
const issuer = process.env.BENCH_JWT_ISSUER ?? "bench-monolith";
const audience = process.env.BENCH_JWT_AUDIENCE ?? "bench-monolith";

const sequelize = new Sequelize(process.env.DATABASE_URL, {
  logging: false,
  pool: { max: Number(process.env.DB_POOL_MAX ?? 10), min: 0, idle: 10_000, acquire: 30_000 },
});

const Product = sequelize.define(
  "products",
  {
    id: { type: DataTypes.UUID, primaryKey: true },
    sku: { type: DataTypes.STRING(64), allowNull: false },
    name: { type: DataTypes.STRING(200), allowNull: false },
    description: { type: DataTypes.TEXT, allowNull: false },
    priceCents: { type: DataTypes.INTEGER, allowNull: false },
    currency: { type: DataTypes.STRING(3), allowNull: false },
    stock: { type: DataTypes.INTEGER, allowNull: false },
    active: { type: DataTypes.BOOLEAN, allowNull: false },
    images: { type: DataTypes.JSON, allowNull: false },
  },
  { tableName: "products", timestamps: true },
);

const Order = sequelize.define(
  "orders",
  {
    id: { type: DataTypes.UUID, primaryKey: true },
    userId: { type: DataTypes.UUID, allowNull: false },
    status: { type: DataTypes.STRING(16), allowNull: false },
    items: { type: DataTypes.JSON, allowNull: false },
    totalCents: { type: DataTypes.BIGINT, allowNull: false },
    currency: { type: DataTypes.STRING(3), allowNull: false },
    shippingAddress: { type: DataTypes.JSON, allowNull: false },
    statusHistory: { type: DataTypes.JSON, allowNull: false },
    idempotencyKey: { type: DataTypes.STRING(255) },
  },
  { tableName: "orders", timestamps: true },
);

const Outbox = sequelize.define(
  "orders_outbox",
  {
    id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
    messageId: { type: DataTypes.STRING(200), allowNull: false },
    event: { type: DataTypes.STRING(64), allowNull: false },
    payload: { type: DataTypes.JSON, allowNull: false },
    requestId: { type: DataTypes.STRING(128) },
  },
  { tableName: "orders_outbox", timestamps: true, updatedAt: false },
);

class HttpError extends Error {
  readonly statusCode: number;
  readonly type: string;
  constructor(statusCode: number, message: string, type: string) {
    super(message);
    this.statusCode = statusCode;
    this.type = type;
  }
}

const app = Fastify({ logger: false });
app.setErrorHandler((err: Error & { statusCode?: number; type?: string; validation?: unknown }, _req, reply) => {
  const status = err.validation ? 422 : (err.statusCode ?? 500);
  void reply.code(status).send({ name: err.name, message: err.message, code: status, type: err.type ?? null, data: null });
});

app.get<{ Params: { id: string } }>("/api/products/:id", async (req, reply) => {
  const product = await Product.findByPk(req.params.id);
  if (!product) throw new HttpError(404, "Product not found.", "NOT_FOUND");
  void reply.header("content-type", "application/json; charset=utf-8");
  return product;
});

interface Line {
  productId: string;
  quantity: number;
}
const checkoutSchema = {
  body: {
    type: "object",
    additionalProperties: false,
    required: ["items", "shippingAddress"],
    properties: {
      items: {
        type: "array",
        minItems: 1,
        maxItems: 100,
        items: {
          type: "object",
          additionalProperties: false,
          required: ["productId", "quantity"],
          properties: { productId: { type: "string", format: "uuid" }, quantity: { type: "integer", minimum: 1, maximum: 1000 } },
        },
      },
      shippingAddress: {
        type: "object",
        additionalProperties: false,
        required: ["name", "line1", "city", "postalCode", "country"],
        properties: {
          name: { type: "string", minLength: 1, maxLength: 100 },
          line1: { type: "string", minLength: 1, maxLength: 200 },
          line2: { type: "string", maxLength: 200 },
          city: { type: "string", minLength: 1, maxLength: 100 },
          postalCode: { type: "string", minLength: 1, maxLength: 20 },
          country: { type: "string", pattern: "^[A-Z]{2}$" },
          phone: { type: "string", maxLength: 40 },
        },
      },
    },
  },
};

app.post<{ Body: { items: Line[]; shippingAddress: Record<string, string> } }>(
  "/api/orders",
  { schema: checkoutSchema },
  async (req, reply) => {
    const header = req.headers.authorization ?? "";
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token) throw new HttpError(401, "Use Authorization: Bearer <token>.", "INVALID_AUTHORIZATION");
    let userId: string;
    try {
      const claims = jwt.verify(token, secret, { algorithms: ["HS256"], issuer, audience }) as { sub?: string };
      if (!claims.sub) throw new Error("no subject");
      userId = claims.sub;
    } catch {
      throw new HttpError(401, "The access token is not valid.", "INVALID_TOKEN");
    }
    const lines = [...req.body.items].sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0));
    const order = await sequelize.transaction(async (transaction) => {
      const items = [];
      let totalCents = 0;
      let currency: string | undefined;
      for (const line of lines) {
        const [, rows] = await Product.update(
          { stock: literal(`stock - ${Number(line.quantity)}`) },
          { where: { id: line.productId, active: true, stock: { [Op.gte]: line.quantity } }, returning: true, transaction },
        );
        const p = rows[0]?.get({ plain: true }) as
          { id: string; sku: string; name: string; priceCents: number; currency: string } | undefined;
        if (!p) throw new HttpError(409, "Not enough stock.", "INSUFFICIENT_STOCK");
        if (currency && p.currency !== currency) throw new HttpError(422, "One currency per order.", "VALIDATION_ERROR");
        currency = p.currency;
        totalCents += p.priceCents * line.quantity;
        items.push({
          productId: p.id,
          sku: p.sku,
          name: p.name,
          unitPriceCents: p.priceCents,
          currency: p.currency,
          quantity: line.quantity,
        });
      }
      const id = randomUUID();
      const now = new Date().toISOString();
      const created = await Order.create(
        {
          id,
          userId,
          status: "pending",
          items,
          totalCents,
          currency,
          shippingAddress: req.body.shippingAddress,
          statusHistory: [{ from: null, to: "pending", at: now, by: userId }],
          idempotencyKey: null,
        },
        { transaction },
      );
      const order = created.get({ plain: true });
      await Outbox.create(
        { messageId: `order.created:${id}`, event: "order.created", payload: { order }, requestId: null },
        { transaction },
      );
      return order;
    });
    void reply.code(201).header("location", `/api/orders/${order.id}`);
    return order;
  },
);

await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
console.log("ready");
process.once("SIGTERM", () => {
  void app.close().finally(() => sequelize.close().finally(() => process.exit(0)));
});
