/**
 * What an entry point (server.ts, scripts/*) prints when it cannot start or finish: one clear
 * line per problem instead of a stack trace. Known causes name what to do: a bad variable
 * (every one of them), a migration that failed, a database that cannot be reached, the missing
 * sqlite3 driver. Anything else is one line too: its name and message; the stack is printed
 * only with `DEBUG` set, for whoever is debugging the entry point itself.
 */
import { ConfigError } from "../../lib/config.ts";
import { SqliteDriverMissingError } from "../../integrations/database/sequelize.ts";
import { MigrationFailedError } from "../../integrations/database/migration-error.ts";

/** The lines to print (stderr) for an error that stopped `what` ("start", "migrate", ...). */
export function startupFailure(err: unknown, what = "start"): string[] {
  if (err instanceof ConfigError) return err.problems.map((p) => `Configuration error: ${p}`);
  if (err instanceof SqliteDriverMissingError || err instanceof MigrationFailedError) return [err.message];
  const e = err instanceof Error ? err : new Error(String(err));
  const message = e.message.split("\n")[0]!;
  // Sequelize's ConnectionRefusedError, HostNotFoundError, AccessDeniedError, ...: the database is not there (yet) or refuses us.
  if (
    /^Sequelize(Connection|ConnectionRefused|HostNotFound|HostNotReachable|AccessDenied|ConnectionTimedOut|InvalidConnection)Error$/.test(
      e.name,
    )
  ) {
    return [`Cannot ${what}: the database cannot be reached (${message}).`];
  }
  const lines = [`Cannot ${what}: ${e.name === "Error" ? "" : `${e.name}: `}${message}`];
  if (process.env.DEBUG && e.stack) lines.push(e.stack);
  return lines;
}
