import type { MigrationContext } from "../integrations/database/migrator.ts";

/**
 * PostgreSQL only: a reservation as one statement, `SELECT shop_reserve_stock(…)`, instead of a
 * transaction of four (START, an UPDATE per line, the reservation's INSERT, COMMIT) with a round
 * trip each while the hot product row stays locked. The function takes each line's stock in the
 * caller's order (sorted by product id: the lock order), refuses with SQLSTATE SR001 when a line
 * cannot be taken (unknown, inactive or short product) or the lines are in several currencies,
 * and with SR002 when the reservation id is there already; either way the statement, and with it
 * everything the function did, is rolled back. It answers the reserved lines (the snapshot) as
 * the JSON the reservation row holds. products.reserve works out the 409 or 422 after a refusal
 * (domain/checkout.ts). SQLite keeps the transaction (services/products/stock.actions.ts).
 */
export async function up({ context: qi }: MigrationContext) {
  if (qi.sequelize.getDialect() !== "postgres") return;
  await qi.sequelize.query(`
    CREATE OR REPLACE FUNCTION shop_reserve_stock(reservation uuid, product_ids uuid[], quantities integer[], at timestamptz)
    RETURNS json LANGUAGE plpgsql AS $$
    DECLARE
      taken jsonb := '[]'::jsonb;
      line record;
      first_currency text;
    BEGIN
      FOR i IN 1 .. coalesce(array_length(product_ids, 1), 0) LOOP
        UPDATE products SET stock = stock - quantities[i], "updatedAt" = at
          WHERE id = product_ids[i] AND active = true AND stock >= quantities[i]
          RETURNING id, sku, name, "priceCents", currency INTO line;
        IF NOT FOUND OR line.currency IS DISTINCT FROM coalesce(first_currency, line.currency) THEN
          RAISE EXCEPTION 'reservation % refused: line % not taken', reservation, i USING ERRCODE = 'SR001';
        END IF;
        first_currency := line.currency;
        taken := taken || jsonb_build_array(jsonb_build_object('productId', line.id, 'sku', line.sku, 'name', line.name,
          'unitPriceCents', line."priceCents", 'currency', line.currency, 'quantity', quantities[i]));
      END LOOP;
      INSERT INTO stock_reservations (id, items, status, "createdAt", "updatedAt")
        VALUES (reservation, taken::json, 'reserved', at, at) ON CONFLICT (id) DO NOTHING;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'reservation % exists', reservation USING ERRCODE = 'SR002';
      END IF;
      RETURN taken::json;
    END $$`);
}

export async function down({ context: qi }: MigrationContext) {
  if (qi.sequelize.getDialect() !== "postgres") return;
  await qi.sequelize.query(`DROP FUNCTION IF EXISTS shop_reserve_stock(uuid, uuid[], integer[], timestamptz)`);
}
