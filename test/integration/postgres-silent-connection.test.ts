/**
 * A PostgreSQL connection that goes silent (its packets dropped, no reset: a failover whose old
 * primary vanished) is closed after SILENT_CONNECTION_MS, and the statement on it runs again on
 * a new connection, which reaches the server. Before, the statement waited, and its connection
 * stayed taken, until TCP gave up (here, behind a proxy that holds the bytes: for good).
 */
import { describeWithServers } from "../support/servers.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { createSequelize, SILENT_CONNECTION_MS } from "../../integrations/database/sequelize.ts";

const suite = await describeWithServers("postgres");

suite("a silent PostgreSQL connection", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let url: string;

  beforeAll(async () => {
    db = await createTestDatabase("silent");
    const direct = new URL(db.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    direct.port = String(proxy.port);
    url = direct.toString();
  });
  afterAll(async () => {
    await proxy?.close();
    await db?.drop();
  });

  test("is closed, and its statement runs again on a new connection", async () => {
    const silentConnectionMs = 300;
    const sequelize = createSequelize({ dialect: "postgres", url, poolMax: 2 } as never, {}, { silentConnectionMs });
    try {
      await sequelize.query("SELECT 1"); // one pooled connection
      proxy.stallOpen(); // it goes silent; new connections get through
      const started = Date.now();
      const [rows] = await sequelize.query("SELECT 2 AS two", { raw: true });
      expect(rows).toEqual([{ two: 2 }]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(silentConnectionMs - 20); // it did wait on the silent one first
    } finally {
      proxy.restore();
      await sequelize.close();
    }
  });

  test("an idle pooled connection that reaches the limit is dropped quietly; the next statement gets a new one", async () => {
    const sequelize = createSequelize(
      { dialect: "postgres", url, poolMax: 2 } as never,
      { pool: { max: 2, min: 0, idle: 60_000, evict: 60_000 } },
      {
        silentConnectionMs: 200,
      },
    );
    try {
      await sequelize.query("SELECT 1");
      await new Promise((r) => setTimeout(r, 500)); // idle past the limit: its socket is closed (the pool had not evicted it)
      const [rows] = await sequelize.query("SELECT 3 AS three", { raw: true });
      expect(rows).toEqual([{ three: 3 }]);
    } finally {
      await sequelize.close();
    }
  });

  test("the services' pools have the limit; migrations, whose statements may rightly run long in silence, do not", async () => {
    const { sequelizeOptions } = await import("../../integrations/database/sequelize.ts");
    const config = { dialect: "postgres", url, poolMax: 2 } as never;
    expect(sequelizeOptions(config).dialectOptions).toHaveProperty("stream");
    expect(sequelizeOptions(config, { silentConnectionMs: 0 }).dialectOptions).not.toHaveProperty("stream");
    expect(SILENT_CONNECTION_MS).toBeGreaterThan(10_000); // beyond any request's statements
  });
});
