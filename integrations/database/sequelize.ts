/**
 * Sequelize connection options from the configuration: PostgreSQL when DATABASE_URL is
 * set, otherwise the embedded SQLite file, and the rules for riding through a database that
 * restarts or fails over.
 *
 *  - A single statement outside a transaction is retried by Sequelize on a fresh connection
 *    for as long as a restart takes (RETRY_BUDGET_MS, backoff), then fails.
 *  - A whole transaction is retried by `runTransaction` when its connection died before the
 *    commit (nothing of it was committed), within the same budget; when the connection died
 *    during the commit, nobody can tell whether it committed, and it is retried only if the
 *    caller says running it twice is harmless (`idempotent`).
 *  - What is still failing after that is a `DatabaseUnavailableError`: 503 with Retry-After.
 *  - A session that idles inside a transaction (its node frozen, or stuck) is ended by
 *    PostgreSQL after IDLE_IN_TRANSACTION_MS, so its row locks do not stall every other node.
 *  - A connection on which PostgreSQL sends nothing for SILENT_CONNECTION_MS is closed, as if it
 *    had been reset: a statement on it fails as transient and runs again on a new connection.
 *    Without that, a connection whose packets are dropped (a failover whose old primary vanished
 *    without a reset) held its statement, and its place in the pool, until TCP gave up (~15 min
 *    on Linux): a pool of them stopped the service. Migrations, whose statements may rightly run
 *    long in silence, go without it.
 *  - SQLite (one process, several services on one file): WAL journal (readers never wait),
 *    IMMEDIATE transactions (a writer takes the write lock at BEGIN, so two transactions never
 *    deadlock on the upgrade from reading to writing), transactions on one file queued in this
 *    process (serializeTransactions), and a short busy timeout plus retries for the statements
 *    outside them: concurrent writers wait for each other instead of failing with SQLITE_BUSY.
 */
import fs from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { Errors } from "moleculer";
import { ConnectionError, Sequelize, Transaction, type Options } from "sequelize";
import type { Config } from "../../lib/config.ts";

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
        "install it with `npm install sqlite3` (it may build from source: python3, make, g++), " +
        "or set DATABASE_URL to a PostgreSQL database.",
      { cause: err },
    );
  }
}

/** How long a restarting database is waited for, per statement or transaction. */
export const RETRY_BUDGET_MS = 6_000;
/** PostgreSQL ends a session idle inside a transaction after this long (its locks go with it). */
export const IDLE_IN_TRANSACTION_MS = 5_000;
/**
 * SQLite: how long a statement waits inside SQLite for another connection's write lock. Short on
 * purpose: node-sqlite3 waits on a libuv pool thread (four of them), and four statements waiting
 * for a transaction that needs a thread to finish is a deadlock. Longer waits happen in
 * JavaScript: transactions queue in-process (serializeTransactions), statements retry on
 * SQLITE_BUSY with backoff (STATEMENT_RETRY).
 */
const SQLITE_BUSY_TIMEOUT_MS = 100;

/**
 * Errors of a connection that failed or a server that is going away or coming back. Sequelize
 * matches these against the error's message, not its SQLSTATE: 57P01 "terminating connection
 * due to administrator command" (a restart or failover), 57P03 "the database system is
 * starting up", a socket closed under us, SQLite's busy lock. A statement whose connection
 * died before it was answered did not commit outside a transaction only if it was not the
 * commit itself (see runTransaction).
 */
const TRANSIENT = [
  /terminating connection/i,
  /the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)/i,
  /Connection terminated/i,
  /connection is insecure|Client has encountered a connection error|not queryable/i,
  /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH/,
  /SQLITE_BUSY/,
  ConnectionError,
];

/** Is `err` a database that is unreachable or restarting (as opposed to a bad statement)? */
export function isTransientDbError(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  const e = err as { message?: unknown; parent?: { message?: unknown; code?: unknown }; original?: { code?: unknown } } | null;
  const code = e?.parent?.code ?? e?.original?.code;
  if (typeof code === "string" && /^(57P0[1-3]|08\d\d\d|53300)$/.test(code)) return true;
  const messages = [e?.message, e?.parent?.message].filter((m): m is string => typeof m === "string");
  return messages.some((m) => TRANSIENT.some((t) => t instanceof RegExp && t.test(m)));
}

/** The database cannot be reached right now: 503, the client may try again shortly. */
export class DatabaseUnavailableError extends Errors.MoleculerError {
  constructor(cause?: unknown) {
    super("The database is unavailable right now; try again shortly.", 503, "DATABASE_UNAVAILABLE", {
      cause: String((cause as Error)?.message ?? cause ?? "").slice(0, 200),
    });
  }
}

/** Far beyond any statement of a request (they have 10 s) and beyond a pooled connection's idle life (~15 s). */
export const SILENT_CONNECTION_MS = 30_000;

/** pg's `stream` option: its socket, closed with ETIMEDOUT (a transient error) after `ms` without a byte either way. */
function silenceLimitedSocket(ms: number): () => net.Socket {
  return () => {
    const socket = new net.Socket();
    socket.setTimeout(ms, () => {
      const err = Object.assign(new Error(`PostgreSQL sent nothing for ${ms} ms (ETIMEDOUT)`), { code: "ETIMEDOUT" });
      socket.destroy(err);
    });
    return socket;
  };
}

/**
 * Retries of one statement: backoff 100 ms · 1.25ⁿ, 14 attempts ≈ 6 s in all (RETRY_BUDGET_MS),
 * enough for a PostgreSQL restart or a short failover.
 */
const STATEMENT_RETRY = { match: TRANSIENT, max: 14, backoffBase: 100, backoffExponent: 1.25 };

export function sequelizeOptions(db: Config["database"], { silentConnectionMs = SILENT_CONNECTION_MS } = {}): Options {
  const common: Options = {
    logging: false,
    retry: STATEMENT_RETRY,
    define: { timestamps: true, freezeTableName: true },
  };
  if (db.dialect === "sqlite") {
    const dialectModule = sqliteDriver();
    fs.mkdirSync(path.dirname(path.resolve(db.storage)), { recursive: true });
    const configured = new WeakSet<object>();
    return {
      ...common,
      dialect: "sqlite",
      dialectModule,
      storage: db.storage,
      transactionType: Transaction.TYPES.IMMEDIATE,
      hooks: {
        // Sequelize opens a connection per transaction and never runs `afterConnect` for
        // SQLite: each connection gets its busy timeout before its first statement.
        beforeQuery: (_options: unknown, query: unknown) => {
          const conn = (query as { connection?: { configure?(option: "busyTimeout", ms: number): void } }).connection;
          if (!conn?.configure || configured.has(conn)) return;
          conn.configure("busyTimeout", SQLITE_BUSY_TIMEOUT_MS);
          configured.add(conn);
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
    dialectOptions: {
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
      ...(silentConnectionMs > 0 ? { stream: silenceLimitedSocket(silentConnectionMs) } : {}),
      ...(sslmode && sslmode !== "disable" ? { ssl: { rejectUnauthorized: sslmode === "verify-full" || sslmode === "verify-ca" } } : {}),
    },
    pool: { max: db.poolMax, min: 0, idle: 10_000, acquire: 30_000, evict: 5_000 },
  };
}

/** `limits.silentConnectionMs`: 0 for none (migrations). */
export function createSequelize(db: Config["database"], overrides: Options = {}, limits: { silentConnectionMs?: number } = {}): Sequelize {
  return new Sequelize({ ...sequelizeOptions(db, limits), ...overrides });
}

/**
 * SQLite's write-ahead log: readers never wait for the writer, and a commit is one append.
 * The journal mode is stored in the file, so once per start is enough.
 */
export async function prepareDatabase(sequelize: Sequelize): Promise<void> {
  if (sequelize.getDialect() === "sqlite") await sequelize.query("PRAGMA journal_mode=WAL");
}

/** Per SQLite file, the end of the queue of transactions waiting for it. */
const sqliteQueues = new Map<string, Promise<void>>();

/**
 * SQLite has one writer at a time. Transactions of every Sequelize instance on the same file
 * (each service of an embedded node has its own) take turns in this process, so none of them
 * waits for the write lock inside SQLite. A no-op on PostgreSQL.
 */
export function serializeTransactions(sequelize: Sequelize): void {
  const storage = (sequelize as unknown as { options: { storage?: string } }).options.storage;
  if (sequelize.getDialect() !== "sqlite" || !storage || (sequelize as { serialized?: boolean }).serialized) return;
  const file = path.resolve(storage);
  const transaction = sequelize.transaction.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  Object.assign(sequelize, {
    serialized: true,
    transaction(...args: unknown[]) {
      // Only managed transactions (a callback) are queued; this code uses no other kind.
      if (typeof args[args.length - 1] !== "function") return transaction(...args);
      const turn = (sqliteQueues.get(file) ?? Promise.resolve()).then(() => transaction(...args));
      const tail = turn.then(
        () => undefined,
        () => undefined,
      );
      sqliteQueues.set(file, tail);
      void tail.then(() => sqliteQueues.get(file) === tail && sqliteQueues.delete(file));
      return turn;
    },
  });
}

export interface TransactionOptions {
  /** Running the work twice is harmless (it is keyed by an id): a commit of unknown outcome may be retried. */
  idempotent?: boolean;
  /** Give up retrying at this time (ms since the epoch), e.g. the request's deadline. */
  deadline?: number;
}

/**
 * `sequelize.transaction(work)`, ridden through a database restart: a transaction whose
 * connection failed before its commit is run again on a new connection, with backoff, until it
 * succeeds, fails for another reason, or RETRY_BUDGET_MS (or `deadline`) is spent; then a
 * DatabaseUnavailableError. `work` must have no effect outside the transaction (no calls, no
 * events: queue those for after the commit), since it may run more than once.
 */
export async function runTransaction<T>(
  sequelize: Sequelize,
  work: (t: Transaction) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const deadline = Math.min(options.deadline ?? Infinity, Date.now() + RETRY_BUDGET_MS);
  for (let attempt = 0; ; attempt++) {
    let committing = false;
    try {
      return await sequelize.transaction(async (t) => {
        const result = await work(t);
        committing = true;
        return result;
      });
    } catch (err) {
      if (!isTransientDbError(err)) throw err;
      const delay = Math.min(1000, 100 * 1.5 ** attempt);
      if ((committing && !options.idempotent) || Date.now() + delay > deadline) throw new DatabaseUnavailableError(err);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Run `op` (a statement or a transaction that is harmless to repeat) until the database answers
 * it, for up to `budgetMs`: for writes that must not be lost to a database restart, such as the
 * record that an e-mail went out. Errors other than an unreachable database are thrown at once.
 */
export async function untilDatabaseAnswers<T>(op: () => Promise<T>, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const delay = Math.min(2_000, 100 * 2 ** attempt);
      if (!isTransientDbError(err) || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * A timestamp for hand-written SQL, as Sequelize itself writes one to SQLite
 * (`YYYY-MM-DD HH:mm:ss.SSS +00:00`, so its models read it back as before); PostgreSQL takes the
 * same text for a `timestamp with time zone`.
 */
export function sqlTimestamp(date: Date): string {
  return `${date.toISOString().replace("T", " ").replace("Z", "")} +00:00`;
}

/** `$first, $first+1, …` for `count` bound values in hand-written SQL (`IN (…)`, `VALUES (…)`). */
export function bindPlaceholders(count: number, first = 1): string {
  return Array.from({ length: count }, (_, i) => `$${first + i}`).join(", ");
}
