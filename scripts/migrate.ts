/**
 * npm run migrate            apply pending migrations, each printed as it runs
 * npm run migrate -- status  list executed and pending migrations
 * npm run migrate -- down    revert the last migration
 *
 * A failure is one line (the migration and the database's complaint, a bad variable, an
 * unreachable database) and exit code 1.
 */
import { getConfig } from "../lib/config.ts";
import { migrateUp, migrateDown, migrationStatus, printMigrations, databaseLabel } from "../integrations/database/migrator.ts";
import { startupFailure } from "./support/startup-failure.ts";

const command = process.argv[2] ?? "up";
try {
  const { database } = getConfig();
  const target = databaseLabel(database);
  if (command === "up") {
    const applied = await migrateUp(database, printMigrations(database));
    console.log(applied.length ? `Applied ${applied.length} migration(s) to ${target}.` : `${target} is up to date.`);
  } else if (command === "down") {
    const reverted = await migrateDown(database, undefined, printMigrations(database));
    console.log(reverted.length ? `Reverted on ${target}: ${reverted.join(", ")}` : "Nothing to revert.");
  } else if (command === "status") {
    const { executed, pending } = await migrationStatus(database);
    console.log(`${target}\nexecuted: ${executed.join(", ") || "none"}\npending:  ${pending.join(", ") || "none"}`);
  } else {
    console.error(`Unknown command "${command}": use up, down or status.`);
    process.exit(2);
  }
} catch (err) {
  for (const line of startupFailure(err, "migrate")) console.error(line);
  process.exit(1);
}
