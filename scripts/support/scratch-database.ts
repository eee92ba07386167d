/**
 * A PostgreSQL database of its own for a test suite, a benchmark or a Postman run: created on
 * the server `adminUrl` points at (a role that may CREATE DATABASE), dropped afterwards.
 */
import { Client } from "pg";

export interface ScratchDatabase {
  name: string;
  /** `adminUrl` with the new database's name. */
  url: string;
  /** Drop it, closing any connection still open to it. */
  drop(): Promise<void>;
}

async function onServer<T>(adminUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `name`: lower-case letters, digits and underscores (it is quoted, never interpolated from input). */
export async function createScratchDatabase(adminUrl: string, name: string): Promise<ScratchDatabase> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`Not a scratch database name: ${JSON.stringify(name)}`);
  await onServer(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => onServer(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
