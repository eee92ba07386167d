/**
 * Schema migrations (umzug). Migrations own the schema: services never call sync().
 * On PostgreSQL a session advisory lock makes concurrent migrators (several nodes
 * starting at once) run one after another instead of racing. A caller may follow each
 * migration as it runs (`printMigrations`); a failed one is a MigrationFailedError whose
 * message is one line: the migration's name and the database's complaint.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Umzug, SequelizeStorage, MigrationError } from "umzug";
import type { QueryInterface, Sequelize } from "sequelize";
import { redact, type Config } from "../../lib/config.ts";
import { createSequelize, prepareDatabase } from "./sequelize.ts";
import { MigrationFailedError } from "./migration-error.ts";

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");
const LOCK_ID = 72_530_001;

export type MigrationContext = { context: QueryInterface };

/** One step of a run: before a migration (`migrating`/`reverting`), after it, or when it failed. */
export interface MigrationEvent {
  event: "migrating" | "migrated" | "reverting" | "reverted" | "failed";
  name: string;
  durationSeconds?: number;
}
export type MigrationProgress = (event: MigrationEvent) => void;

export { MigrationFailedError } from "./migration-error.ts";

/** The database as people name it: the SQLite file, or the PostgreSQL URL without its password. */
export function databaseLabel(db: Config["database"]): string {
  return db.dialect === "postgres" ? redact(db.url) : db.storage;
}

/**
 * Progress on stdout, one line per migration, written in two parts so that a slow or hanging
 * migration shows which one it is:  "  20261128-0004-orders ... 35 ms"  (or "... failed").
 */
export function printMigrations(db: Config["database"], out: { write(text: string): unknown } = process.stdout): MigrationProgress {
  let started = false;
  return ({ event, name, durationSeconds }) => {
    if (!started) out.write(`${event === "reverting" ? "Reverting on" : "Migrating"} ${databaseLabel(db)}\n`);
    started = true;
    if (event === "migrating" || event === "reverting") out.write(`  ${name} ... `);
    else if (event === "failed") out.write("failed\n");
    else out.write(`${Math.round((durationSeconds ?? 0) * 1000)} ms\n`);
  };
}

function umzug(sequelize: Sequelize, progress: MigrationProgress | undefined) {
  // umzug reports each step to its logger's info() as { event, name, durationSeconds }.
  const logger = progress && {
    info: (m: Record<string, unknown>) => progress(m as unknown as MigrationEvent),
    warn() {},
    error() {},
    debug() {},
  };
  return new Umzug({
    migrations: {
      glob: ["*.ts", { cwd: MIGRATIONS_DIR, ignore: ["*.d.ts"] }],
      resolve: ({ name, path: file, context }) => ({
        name: name.replace(/\.ts$/, ""),
        up: async () => (await import(file!)).up({ context }),
        down: async () => (await import(file!)).down({ context }),
      }),
    },
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: "schema_migrations" }),
    logger,
  });
}

async function withMigrator<T>(
  db: Config["database"],
  progress: MigrationProgress | undefined,
  fn: (u: ReturnType<typeof umzug>) => Promise<T>,
): Promise<T> {
  // One connection: the advisory lock is held by the session that runs the migrations. A migration
  // may run long without a byte on the wire (an index on a big table): no silence limit.
  const sequelize = createSequelize(db, db.dialect === "postgres" ? { pool: { max: 1, min: 0 } } : {}, { silentConnectionMs: 0 });
  try {
    if (db.dialect === "postgres") await sequelize.query(`SELECT pg_advisory_lock(${LOCK_ID})`);
    await prepareDatabase(sequelize);
    return await fn(umzug(sequelize, progress));
  } catch (err) {
    if (!(err instanceof MigrationError)) throw err;
    progress?.({ event: "failed", name: err.migration.name });
    throw new MigrationFailedError(err.migration.name, err.cause);
  } finally {
    if (db.dialect === "postgres") await sequelize.query(`SELECT pg_advisory_unlock(${LOCK_ID})`).catch(() => {});
    await sequelize.close();
  }
}

/** Apply every pending migration; returns the names applied. */
export async function migrateUp(db: Config["database"], progress?: MigrationProgress): Promise<string[]> {
  return withMigrator(db, progress, async (u) => (await u.up()).map((m) => m.name));
}

/** Revert migrations down to (not including) `to`, or the last one when `to` is undefined. */
export async function migrateDown(db: Config["database"], to?: string | 0, progress?: MigrationProgress): Promise<string[]> {
  return withMigrator(db, progress, async (u) => (await u.down(to === undefined ? undefined : { to })).map((m) => m.name));
}

export async function migrationStatus(db: Config["database"]): Promise<{ executed: string[]; pending: string[] }> {
  return withMigrator(db, undefined, async (u) => ({
    executed: (await u.executed()).map((m) => m.name),
    pending: (await u.pending()).map((m) => m.name),
  }));
}
