/**
 * Anchor: a bare moleculer-web gateway and a `products.get` action answering from memory (the
 * products of BENCH_PRODUCTS_FILE): the framework's floor. Moleculer's and moleculer-web's
 * defaults, no middlewares, no cacher, no hooks; the shop's JSON-compatible serializer is
 * moleculer's JSON one.
 *
 *   BENCH_ROLE=one       gateway and action in one broker, no transporter
 *   BENCH_ROLE=gateway   the gateway only, over AMQP (TRANSPORTER, amqpTransporter as shipped)
 *   BENCH_ROLE=service   the action only, over AMQP
 *
 * Prints one line `ready` once it serves (the gateway: once it sees the action).
 */
import { ServiceBroker, Errors, type Context, type ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import { amqpTransporter } from "../../moleculer.config.ts";
import { loadProducts } from "./products-file.ts";

const role = process.env.BENCH_ROLE ?? "one";
const url = process.env.TRANSPORTER;
if (role !== "one" && !url) throw new Error("TRANSPORTER is not set");

const broker = new ServiceBroker({
  namespace: process.env.NAMESPACE,
  nodeID: `${role}-${process.pid}`,
  transporter: role === "one" ? undefined : amqpTransporter(url!, Number(process.env.AMQP_PREFETCH ?? 100)),
  logger: { type: "Console", options: { level: "warn" } },
});

if (role !== "gateway") {
  const products = loadProducts();
  broker.createService({
    name: "products",
    actions: {
      get(ctx: Context<{ id: string }>) {
        const product = products.get(ctx.params.id);
        if (!product) throw new Errors.MoleculerClientError("Product not found.", 404, "NOT_FOUND");
        return product;
      },
    },
  });
}
if (role !== "service") {
  broker.createService({
    name: "api",
    mixins: [ApiGateway as unknown as ServiceSchema],
    settings: {
      port: Number(process.env.PORT),
      ip: "127.0.0.1",
      path: "/api",
      logRequest: null,
      logResponse: null,
      routes: [{ path: "/", mappingPolicy: "restrict", aliases: { "GET /products/:id": "products.get" } }],
    },
  });
}

await broker.start();
if (role !== "service") await broker.waitForServices("products", 30_000);
console.log("ready");
