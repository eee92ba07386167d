/**
 * The error of a failed migration, in a module of its own: entry points that only recognise it
 * (scripts/support/startup-failure.ts, and so every node's server.ts) need not import umzug.
 */

/** A migration threw: `migration` is its name, `cause` the database's error. */
export class MigrationFailedError extends Error {
  override name = "MigrationFailedError";
  readonly migration: string;
  constructor(migration: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`Migration ${migration} failed: ${reason.split("\n")[0]}`, { cause });
    this.migration = migration;
  }
}
