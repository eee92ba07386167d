/**
 * Sequelize connection options from the configuration: PostgreSQL when DATABASE_URL is
 * set, otherwise the embedded SQLite file. Every pool retries the errors a restarting or
 * failing-over database produces, so a Postgres restart costs a retry, not a crash.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { ConnectionError, Sequelize, type Options } from "sequelize";
import type { Config } from "./config.ts";

/** The embedded default's driver is missing or did not build (sqlite3 is an optional dependency). */
export class SqliteDriverMissingError extends Error {
  override name = "SqliteDriverMissingError";
}

let sqlite3: object | undefined;
/**
 * The sqlite3 driver, loaded here rather than by Sequelize, so that its absence is one clear
 * sentence. It is an optional dependency (archived upstream, a native build): an install for
 * PostgreSQL only, such as the Docker image, goes without it.
 */
export function sqliteDriver(): object {
  if (sqlite3 !== undefined) return sqlite3;
  try {
    sqlite3 = createRequire(import.meta.url)("sqlite3") as object;
    return sqlite3;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === "MODULE_NOT_FOUND" ? "is not installed" : `cannot be loaded (${e.message.split("\n")[0]})`;
    throw new SqliteDriverMissingError(
      `The embedded SQLite database (no DATABASE_URL) needs the optional package sqlite3, which ${why}: ` +
        "install it with `npm install sqlite3` (it may build from source: python3, make, g++), or set DATABASE_URL to a PostgreSQL database.",
      { cause: err },
    );
  }
}

/**
 * Errors worth another try on a fresh connection. Sequelize matches these against the
 * error's message, not its SQLSTATE: 57P01 "terminating connection due to administrator
 * command" (a restart or failover), 57P03 "the database system is starting up", a socket
 * closed under us, SQLite's busy lock. A killed connection never committed its statement.
 */
const TRANSIENT = [
  /terminating connection/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /Connection terminated/i,
  /ECONNRESET|ECONNREFUSED|EPIPE/,
  /SQLITE_BUSY/,
  ConnectionError,
];

export function sequelizeOptions(db: Config["database"]): Options {
  const common: Options = {
    logging: false,
    retry: { match: TRANSIENT, max: 4, backoffBase: 50, backoffExponent: 1.5 },
    define: { timestamps: true, freezeTableName: true },
  };
  if (db.dialect === "sqlite") {
    const dialectModule = sqliteDriver();
    fs.mkdirSync(path.dirname(path.resolve(db.storage)), { recursive: true });
    return {
      ...common,
      dialect: "sqlite",
      dialectModule,
      storage: db.storage,
      // Several services of one node share the file: wait for a lock instead of failing.
      hooks: {
        afterConnect: (conn: unknown) => {
          (conn as { configure(option: "busyTimeout", ms: number): void }).configure("busyTimeout", 5000);
        },
      },
    };
  }
  const url = new URL(db.url);
  const sslmode = url.searchParams.get("sslmode");
  return {
    ...common,
    dialect: "postgres",
    host: decodeURIComponent(url.hostname) || "127.0.0.1",
    port: url.port ? Number(url.port) : 5432,
    database: decodeURIComponent(url.pathname.replace(/^\//, "")) || undefined,
    username: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    dialectOptions:
      sslmode && sslmode !== "disable" ? { ssl: { rejectUnauthorized: sslmode === "verify-full" || sslmode === "verify-ca" } } : {},
    pool: { max: db.poolMax, min: 0, idle: 10_000, acquire: 30_000, evict: 5_000 },
  };
}

export function createSequelize(db: Config["database"], overrides: Options = {}): Sequelize {
  return new Sequelize({ ...sequelizeOptions(db), ...overrides });
}
