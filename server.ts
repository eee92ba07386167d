/**
 * Starts one node: the services named in SERVICES (default: all) on a broker built from
 * moleculer.config.ts. The embedded default (SQLite) migrates its schema first, printing each
 * migration as it runs. A node that cannot start says why in one line per problem and exits 1.
 *
 *   node --import ./compile-cache.mjs server.ts            start (npm start)
 *   node --import ./compile-cache.mjs server.ts --repl     start, then open the moleculer REPL on this node
 *
 * `node server.ts` runs the same node; the preload (compile-cache.mjs) only spares it Node's
 * TypeScript stripper when the compile cache already holds the sources.
 */
import type { ServiceBroker } from "moleculer";
import { getConfig } from "./lib/config.ts";
import { createBroker } from "./broker.ts";
import { startupFailure } from "./scripts/support/startup-failure.ts";
import { releaseStartupMemory } from "./lib/startup-memory.ts";

/** Starts the node (only when this file is what node runs: scripts/warm-compile-cache.ts imports it to compile it). */
async function main(): Promise<void> {
  let broker: ServiceBroker;
  try {
    const config = getConfig();
    if (config.migrateOnStart && config.services.some((s) => s !== "api")) {
      // umzug is loaded only by a node that migrates (the embedded default, MIGRATE_ON_START).
      const { migrateUp, printMigrations } = await import("./integrations/database/migrator.ts");
      const applied = await migrateUp(config.database, printMigrations(config.database));
      if (applied.length) console.log(`Migrated the database: ${applied.length} migration(s) applied.`);
    }
    broker = await createBroker(config);
    await broker.start();
  } catch (err) {
    for (const line of startupFailure(err)) console.error(line);
    process.exit(1);
  }
  releaseStartupMemory();
  if (process.argv.includes("--repl")) broker.repl();
}

if (import.meta.main) await main();
