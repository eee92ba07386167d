/**
 * npm run migrate            apply pending migrations
 * npm run migrate -- status  list executed and pending migrations
 * npm run migrate -- down    revert the last migration
 */
import { getConfig, redact, ConfigError } from "../lib/config.ts";
import { migrateUp, migrateDown, migrationStatus } from "../lib/migrator.ts";

const command = process.argv[2] ?? "up";
try {
  const { database } = getConfig();
  const target = database.dialect === "postgres" ? redact(database.url) : database.storage;
  if (command === "up") {
    const applied = await migrateUp(database);
    console.log(applied.length ? `Applied to ${target}: ${applied.join(", ")}` : `${target} is up to date.`);
  } else if (command === "down") {
    const reverted = await migrateDown(database);
    console.log(reverted.length ? `Reverted on ${target}: ${reverted.join(", ")}` : "Nothing to revert.");
  } else if (command === "status") {
    const { executed, pending } = await migrationStatus(database);
    console.log(`${target}\nexecuted: ${executed.join(", ") || "none"}\npending:  ${pending.join(", ") || "none"}`);
  } else {
    console.error(`Unknown command "${command}": use up, down or status.`);
    process.exit(2);
  }
} catch (err) {
  console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : err);
  process.exit(1);
}
