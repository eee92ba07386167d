import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * The reconciliation scan (services/products/reconcile.ts) reads `WHERE status = 'reserved'
 * AND "createdAt" < cutoff ORDER BY "createdAt", id LIMIT 500` with a keyset on
 * ("createdAt", id). An index on (status, "createdAt", id) serves the filter, the order and the
 * keyset, so a run reads only the reservations still held (reconciliation settles those whose
 * order can never be cancelled), however long the ledger of released and settled ones grows.
 * The old index on status alone is a prefix of this one: it goes.
 *
 * The status column is a plain STRING(16) with no CHECK constraint or enum (20261128-0003), so
 * the new value `settled` needs no schema change. Plain CREATE INDEX on PostgreSQL (it blocks
 * writes to the ledger, i.e. checkouts, while it builds: one pass over the table, once).
 * CONCURRENTLY is not an option under this migrator: it waits for every older snapshot in the
 * database, including a second node's migrator waiting for the advisory lock that this one
 * holds, which the deadlock detector then breaks by failing one of them.
 */
export async function up({ context: qi }: MigrationContext) {
  await qi.addIndex("stock_reservations", ["status", "createdAt", "id"], { name: "stock_reservations_status_created" });
  await qi.removeIndex("stock_reservations", "stock_reservations_status");
}

export async function down({ context: qi }: MigrationContext) {
  await qi.addIndex("stock_reservations", ["status"], { name: "stock_reservations_status" });
  await qi.removeIndex("stock_reservations", "stock_reservations_status_created");
}
