/**
 * Anchor: plain node:http answering GET /api/products/:id from memory (the products of
 * BENCH_PRODUCTS_FILE), serialised per request as the shop does: the floor of a cached read.
 * Prints one line `ready` once it listens on PORT.
 */
import http from "node:http";
import { loadProducts } from "./products-file.ts";

const products = loadProducts();
const PREFIX = "/api/products/";

const server = http.createServer((req, res) => {
  const url = req.url ?? "";
  const product = req.method === "GET" && url.startsWith(PREFIX) ? products.get(url.slice(PREFIX.length)) : undefined;
  if (!product) {
    res.writeHead(404, { "Content-Type": "application/json; charset=utf-8" });
    res.end('{"name":"NotFoundError","message":"Not found","code":404}');
    return;
  }
  res.writeHead(200, { "Content-Type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(product));
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("ready"));
process.once("SIGTERM", () => process.exit(0));
