/**
 * The README's first promise: with nothing configured, `npm start` runs the whole shop
 * on one node with an embedded SQLite database that migrates itself. Started here as a
 * real process in an empty folder, with no server of any kind needed.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { spawn } from "node:child_process";
import { SERVER_ENTRY, exited } from "../../lib/cluster.ts";
import { http } from "../support/node.ts";

const CONFIG_VARS = ["DATABASE_URL", "TRANSPORTER", "CACHER", "SERVICES", "NAMESPACE", "NODE_ID", "SQLITE_PATH", "MIGRATE_ON_START"];

test("an unconfigured node serves the shop from ./data and stops cleanly", async () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "shop-embedded-"));
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CONFIG_VARS.includes(k)));
  const child = spawn(process.execPath, [SERVER_ENTRY], { cwd, env: { ...env, PORT: String(port), METRICS: "false" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  try {
    const api = `http://127.0.0.1:${port}/api`;
    const deadline = Date.now() + 20_000;
    let ready = await http(`${api}/health/ready`).catch(() => null);
    while (ready?.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      ready = await http(`${api}/health/ready`).catch(() => null);
    }
    expect(ready).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(await http(`${api}/products`)).toMatchObject({ status: 200, body: { rows: [], total: 0 } });
    expect(fs.existsSync(path.join(cwd, "data", "shop.sqlite"))).toBe(true);
    expect(output).toMatch(/Migrated the database/);
  } catch (err) {
    console.log(output);
    throw err;
  } finally {
    child.kill("SIGTERM");
    expect(await exited(child)).toBe(0);
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});
