/**
 * Starts one node: the services named in SERVICES (default: all) on a broker built from
 * moleculer.config.ts. The embedded default (SQLite) migrates its schema first.
 *
 *   node server.ts            start
 *   node server.ts --repl     start, then open the moleculer REPL on this node
 */
import { ServiceBroker } from "moleculer";
import { getConfig, ConfigError } from "./lib/config.ts";
import { migrateUp } from "./lib/migrator.ts";
import { createBroker } from "./lib/broker.ts";

let config;
try {
  config = getConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`Configuration error: ${err.message}`);
  process.exit(1);
}

if (config.migrateOnStart && config.services.some((s) => s !== "api")) {
  const applied = await migrateUp(config.database);
  if (applied.length) console.log(`Migrated the database: ${applied.join(", ")}`);
}

const broker: ServiceBroker = await createBroker(config);
await broker.start();
if (process.argv.includes("--repl")) broker.repl();
