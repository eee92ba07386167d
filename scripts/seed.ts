/**
 * npm run seed               fill an empty shop with the demo data, then print how to sign in
 * npm run seed -- --force    also when the database holds data the demo did not make
 *
 * The demo shop (scripts/seed/catalogue.ts): 60 products in six categories, each with a picture
 * drawn here (scripts/seed/images.ts) and stored through the storage service; a demo admin and a
 * demo shopper; five orders of the shopper, one in each state. Against the configured database
 * (DATABASE_URL, or the embedded SQLite file) and file store (S3_BUCKET, or ./data/files): the
 * migrations run first, then the services run in this process, without a transporter, and
 * everything goes through their actions, so every rule holds (stock reserved by the orders,
 * images published). No e-mail is sent (the mail service does not run here).
 *
 * Idempotent: it makes what is missing and changes nothing that is there, so a second run
 * changes nothing. It refuses a database that holds accounts, products, orders or files it did
 * not make (a real shop), and NODE_ENV=production, unless --force. The demo passwords are
 * derived from SECRETS_KEY: the same on every run of one installation, printed each time,
 * known to nobody who does not know that key.
 */
import { createHmac } from "node:crypto";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import type { ServiceBroker } from "moleculer";
import { loadConfig, type Config } from "../lib/config.ts";
import { migrateUp, printMigrations, databaseLabel } from "../integrations/database/migrator.ts";
import { startupFailure } from "./support/startup-failure.ts";
import type { Principal } from "../lib/access.ts";
import { ACCOUNTS, CURRENCY, ORDERS, PRODUCTS, SHIPPING_ADDRESS, CATEGORIES, type OrderStatus } from "./seed/catalogue.ts";
import { productImage } from "./seed/images.ts";

interface Page<T> {
  rows: T[];
  total: number;
}
interface User {
  id: string;
  email: string;
  role: string;
  emailVerified: boolean;
}
interface Product {
  id: string;
  sku: string;
  images: string[];
}
interface Order {
  id: string;
  status: OrderStatus;
  items: { productId: string; quantity: number }[];
}
interface StoredFile {
  id: string;
  filename: string;
}

/** Who the seed acts as where a person is not needed: an operator, as the REPL's commands do. */
const OPERATOR: Principal = { id: "seed", role: "superuser" };
const as = (user: Principal) => ({ meta: { user } });

/** The demo account's password: stable for one SECRETS_KEY, unguessable without it. */
export function demoPassword(secretsKey: string, kind: keyof typeof ACCOUNTS): string {
  const raw = createHmac("sha256", secretsKey).update(`moleculer-shop demo ${kind} password`).digest("base64url");
  return [raw.slice(0, 5), raw.slice(5, 10), raw.slice(10, 15), raw.slice(15, 20)].join("-");
}

/** Progress on one line on a terminal, every tenth step (and the last) elsewhere. */
function progress(label: string, total: number) {
  const tty = process.stdout.isTTY;
  return (done: number, note = "") => {
    if (tty) process.stdout.write(`\r${label}: ${done}/${total} ${note}`.padEnd(72) + (done === total ? "\n" : ""));
    else if (done % 10 === 0 || done === total) console.log(`${label}: ${done}/${total}`);
  };
}

async function all<T>(broker: ServiceBroker, action: string, params: Record<string, unknown>): Promise<T[]> {
  const rows: T[] = [];
  for (let page = 1; ; page++) {
    const result = await broker.call<Page<T>, object>(action, { ...params, page, pageSize: 100 }, as(OPERATOR));
    rows.push(...result.rows);
    if (rows.length >= result.total || result.rows.length === 0) return rows;
  }
}

async function findUser(broker: ServiceBroker, email: string): Promise<User | undefined> {
  const { rows } = await broker.call<Page<User>, object>("users.list", { search: email, pageSize: 10 }, as(OPERATOR));
  return rows.find((u) => u.email === email);
}

/** What is in the shop that the demo did not make: a number per kind. */
async function foreignData(broker: ServiceBroker, demoUsers: (User | undefined)[], products: Product[]) {
  const count = async (action: string, params: Record<string, unknown> = {}) =>
    (await broker.call<Page<unknown>, object>(action, { ...params, pageSize: 1 }, as(OPERATOR))).total;
  const known = demoUsers.filter((u): u is User => u !== undefined);
  const skus = new Set(PRODUCTS.map((p) => p.sku));
  let ordersOfDemo = 0;
  let filesOfDemo = 0;
  for (const user of known) {
    ordersOfDemo += await count("orders.list", { userId: user.id });
    filesOfDemo += await count("storage.list", { ownerId: user.id });
  }
  return {
    accounts: (await count("users.list")) - known.length,
    products: products.filter((p) => !skus.has(p.sku)).length,
    orders: (await count("orders.list")) - ordersOfDemo,
    files: (await count("storage.list")) - filesOfDemo,
  };
}

async function ensureAccount(
  broker: ServiceBroker,
  config: Config,
  kind: keyof typeof ACCOUNTS,
): Promise<{ user: User; created: boolean }> {
  const { email, name, role } = ACCOUNTS[kind];
  let user = await findUser(broker, email);
  const created = !user;
  if (!user)
    user = await broker.call<User, object>("users.register", { email, name, password: demoPassword(config.auth.secretsKey, kind) });
  // A new account (or one a run stopped halfway) gets its role and a verified address.
  if (user.role !== role || !user.emailVerified) {
    user = await broker.call<User, object>(
      "users.update",
      { id: user.id, emailVerified: true, ...(user.role !== role ? { role } : {}) },
      as(OPERATOR),
    );
  }
  return { user, created };
}

/** An order's lines as one comparable text. */
const key = (lines: { productId: string; quantity: number }[]) =>
  lines
    .map((l) => `${l.productId}×${l.quantity}`)
    .toSorted()
    .join(",");

async function seed(broker: ServiceBroker, config: Config, force: boolean): Promise<boolean> {
  const label = databaseLabel(config.database);
  const demoUsers = [await findUser(broker, ACCOUNTS.admin.email), await findUser(broker, ACCOUNTS.shopper.email)];
  const existing = await all<Product>(broker, "products.list", {});
  const foreign = await foreignData(broker, demoUsers, existing);
  const found = Object.entries(foreign).filter(([, n]) => n > 0);
  if (found.length) {
    const what = found.map(([kind, n]) => `${n} ${n === 1 ? kind.replace(/s$/, "") : kind}`).join(", ");
    if (!force) {
      console.error(`${label} already holds data the demo did not make (${what}): it looks like a real shop, so the seed leaves it alone.`);
      console.error("Add the demo data anyway with: npm run seed -- --force");
      return false;
    }
    console.log(`--force: adding the demo data next to ${what}.`);
  }
  const changes: string[] = [];

  // 1. The two accounts.
  const admin = await ensureAccount(broker, config, "admin");
  const shopper = await ensureAccount(broker, config, "shopper");
  const made = [admin, shopper].filter((a) => a.created).length;
  if (made) changes.push(`${made} account(s)`);
  const adminPrincipal: Principal = { id: admin.user.id, role: "admin" };
  const shopperPrincipal: Principal = { id: shopper.user.id, role: "user" };

  // 2. The catalogue, each product with its picture (uploaded by the demo admin).
  const bySku = new Map(existing.map((p) => [p.sku, p]));
  const pictures = new Map((await all<StoredFile>(broker, "storage.list", { ownerId: admin.user.id })).map((f) => [f.filename, f]));
  let newProducts = 0;
  let newPictures = 0;
  const step = progress("Products", PRODUCTS.length);
  for (const [i, item] of PRODUCTS.entries()) {
    let product = bySku.get(item.sku);
    if (!product) {
      const { sku, name, description, priceCents, stock, active } = item;
      product = await broker.call<Product, object>(
        "products.create",
        { sku, name, description, priceCents, currency: CURRENCY, stock, active },
        as(OPERATOR),
      );
      bySku.set(sku, product);
      newProducts++;
    }
    if (product.images.length === 0) {
      const filename = `${item.sku.toLowerCase()}.png`;
      // A picture a stopped run uploaded but did not attach is used, not uploaded again.
      let file = pictures.get(filename);
      if (!file) {
        file = await broker.call<StoredFile, object>(
          "storage.upload",
          { $filename: filename, $mimetype: "image/png" },
          { ...as(adminPrincipal), stream: Readable.from(productImage(item.sku, item.category)) },
        );
      }
      // By the admin who uploaded it: an admin attaches only their own uploads.
      await broker.call("products.attachImage", { id: product.id, fileId: file.id }, as(adminPrincipal));
      newPictures++;
    }
    step(i + 1, item.sku);
  }
  if (newProducts) changes.push(`${newProducts} product(s)`);
  if (newPictures) changes.push(`${newPictures} picture(s)`);

  // 3. The shopper's orders, one in each state; an order is known by its lines.
  const orders = await all<Order>(broker, "orders.list", { userId: shopper.user.id });
  let orderChanges = 0;
  for (const demo of ORDERS) {
    const lines = demo.lines.map((l) => ({ productId: bySku.get(l.sku)!.id, quantity: l.quantity }));
    let order = orders.find((o) => key(o.items) === key(lines));
    if (!order) {
      order = await broker.call<Order, object>("orders.create", { items: lines, shippingAddress: SHIPPING_ADDRESS }, as(shopperPrincipal));
      orderChanges++;
    }
    // Along its path from where it is (a stopped run may have left it halfway); never backwards,
    // nor off its path (someone playing with the demo cancelled it: it stays so).
    const path: OrderStatus[] = ["pending", ...demo.path];
    const at = path.indexOf(order.status);
    for (const next of at === -1 ? [] : path.slice(at + 1)) {
      order =
        next === "cancelled"
          ? await broker.call<Order, object>(
              "orders.cancel",
              { id: order.id, ...(demo.reason ? { reason: demo.reason } : {}) },
              as(shopperPrincipal),
            )
          : await broker.call<Order, object>("orders.setStatus", { id: order.id, status: next }, as(adminPrincipal));
      orderChanges++;
    }
  }
  if (orderChanges) changes.push(`${orderChanges} order change(s)`);

  const categories = Object.values(CATEGORIES)
    .map((c) => c.name)
    .join(", ");
  console.log(changes.length ? `Added ${changes.join(", ")}.` : "Nothing to do: the demo data is all there.");
  console.log(`The demo shop in ${label}: ${PRODUCTS.length} products (${categories}), ${ORDERS.length} orders.`);
  console.log("Sign in as (passwords derived from SECRETS_KEY; the same on every run):");
  console.log(`  admin    ${ACCOUNTS.admin.email}    ${demoPassword(config.auth.secretsKey, "admin")}`);
  console.log(`  shopper  ${ACCOUNTS.shopper.email}  ${demoPassword(config.auth.secretsKey, "shopper")}`);
  console.log(`Then: npm start, and curl localhost:${config.http.port}/api/products`);
  return true;
}

const { values } = parseArgs({ options: { force: { type: "boolean", default: false } } });
let exitCode = 0;
let broker: ServiceBroker | undefined;
try {
  // The services that hold the demo data, in this process, against the configured database
  // and file store; no transporter (nothing to join), no mail (nothing to announce).
  process.env.SERVICES = "users,products,orders,storage";
  delete process.env.TRANSPORTER;
  process.env.METRICS = "false";
  const config = loadConfig(process.env);
  if (config.env === "production" && !values.force) {
    console.error(
      "NODE_ENV=production: demo data (and a demo admin whose password this prints) does not belong in a live shop. " +
        "--force if you mean it.",
    );
    process.exit(1);
  }
  console.log(`Seeding ${databaseLabel(config.database)} with the demo shop.`);
  await migrateUp(config.database, printMigrations(config.database));
  const { createBroker } = await import("../broker.ts");
  broker = await createBroker(config, { logger: false });
  await broker.start();
  if (!(await seed(broker, config, values.force))) exitCode = 1;
} catch (err) {
  const e = err as Error & { data?: unknown };
  if (e.name === "ConfigError" || e.name === "SqliteDriverMissingError" || e.name === "MigrationFailedError")
    for (const line of startupFailure(err)) console.error(line);
  else console.error(`Could not seed: ${e.message}${e.data ? ` ${JSON.stringify(e.data)}` : ""}`);
  exitCode = 1;
} finally {
  await broker?.stop();
}
process.exit(exitCode);
