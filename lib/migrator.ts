/**
 * Schema migrations (umzug). Migrations own the schema: services never call sync().
 * On PostgreSQL a session advisory lock makes concurrent migrators (several nodes
 * starting at once) run one after another instead of racing.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Umzug, SequelizeStorage } from "umzug";
import type { QueryInterface, Sequelize } from "sequelize";
import type { Config } from "./config.ts";
import { createSequelize, prepareDatabase } from "./database.ts";

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../migrations");
const LOCK_ID = 72_530_001;

export type MigrationContext = { context: QueryInterface };

function umzug(sequelize: Sequelize, logger: Console | undefined) {
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

async function withMigrator<T>(db: Config["database"], logger: Console | undefined, fn: (u: ReturnType<typeof umzug>) => Promise<T>): Promise<T> {
  // One connection: the advisory lock is held by the session that runs the migrations.
  const sequelize = createSequelize(db, db.dialect === "postgres" ? { pool: { max: 1, min: 0 } } : {});
  try {
    if (db.dialect === "postgres") await sequelize.query(`SELECT pg_advisory_lock(${LOCK_ID})`);
    await prepareDatabase(sequelize);
    return await fn(umzug(sequelize, logger));
  } finally {
    if (db.dialect === "postgres") await sequelize.query(`SELECT pg_advisory_unlock(${LOCK_ID})`).catch(() => {});
    await sequelize.close();
  }
}

/** Apply every pending migration; returns the names applied. */
export async function migrateUp(db: Config["database"], logger?: Console): Promise<string[]> {
  return withMigrator(db, logger, async (u) => (await u.up()).map((m) => m.name));
}

/** Revert migrations down to (not including) `to`, or the last one when `to` is undefined. */
export async function migrateDown(db: Config["database"], to?: string | 0, logger?: Console): Promise<string[]> {
  return withMigrator(db, logger, async (u) => (await u.down(to === undefined ? undefined : { to })).map((m) => m.name));
}

export async function migrationStatus(db: Config["database"]): Promise<{ executed: string[]; pending: string[] }> {
  return withMigrator(db, undefined, async (u) => ({
    executed: (await u.executed()).map((m) => m.name),
    pending: (await u.pending()).map((m) => m.name),
  }));
}
