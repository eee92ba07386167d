/**
 * npm run cluster [-- --products=3 --orders=2]
 *
 * A local cluster on this machine: migrates the database, then starts the gateway and one
 * process per service node over RabbitMQ and PostgreSQL (the topology of scripts/support/cluster.ts,
 * the same roles docker-compose runs). Output is prefixed with each node's id.
 * Ctrl-C stops every node gracefully.
 */
import readline from "node:readline";
import { Client } from "pg";
import { LOCAL_CLUSTER, spawnNode, exited, type NodeSpec } from "./support/cluster.ts";
import { loadConfig, redact } from "../lib/config.ts";
import { migrateUp, printMigrations } from "../integrations/database/migrator.ts";
import { startupFailure } from "./support/startup-failure.ts";

// `||`, not `??`: a .env copied from .env.example sets both to "" (not configured).
const env: NodeJS.ProcessEnv = {
  ...process.env,
  TRANSPORTER: process.env.TRANSPORTER || "amqp://guest:guest@127.0.0.1:5672",
  DATABASE_URL: process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/shop",
  MIGRATE_ON_START: "false",
};

let config;
try {
  config = loadConfig(env);
} catch (err) {
  for (const line of startupFailure(err)) console.error(line);
  process.exit(1);
}
if (config.database.dialect !== "postgres") throw new Error("unreachable: DATABASE_URL is set above");

/** Create the database on first use, so the cluster runs on a fresh PostgreSQL. */
async function ensureDatabase(url: string) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  const client = new Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      console.log(`Created database ${name}.`);
    }
  } finally {
    await client.end();
  }
}

/** `--products=3 --orders=2`: replicas per service (the gateway stays one: it owns PORT). */
function topologyFromArgs(args: string[]): NodeSpec[] {
  const replicas = new Map<string, number>();
  for (const spec of LOCAL_CLUSTER) replicas.set(spec.services, (replicas.get(spec.services) ?? 0) + 1);
  for (const arg of args) {
    const m = /^--([a-z]+)=(\d+)$/.exec(arg);
    if (!m || !replicas.has(m[1]!) || m[1] === "api" || Number(m[2]) < 1 || Number(m[2]) > 16) {
      console.error(`Unknown option ${arg}: use --<service>=<1..16> for ${[...replicas.keys()].filter((s) => s !== "api").join(", ")}`);
      process.exit(2);
    }
    replicas.set(m[1]!, Number(m[2]));
  }
  return [...replicas].flatMap(([service, n]) =>
    service === "api"
      ? [{ id: "api-1", services: "api" }]
      : Array.from({ length: n }, (_, i) => ({ id: `${service}-${i + 1}`, services: service })),
  );
}
const topology = topologyFromArgs(process.argv.slice(2));

try {
  await ensureDatabase(config.database.url);
  const applied = await migrateUp(config.database, printMigrations(config.database));
  console.log(applied.length ? `Migrated: ${applied.length} migration(s) applied.` : "Database schema is up to date.");
} catch (err) {
  for (const line of startupFailure(err, "prepare the database")) console.error(line);
  process.exit(1);
}
console.log(
  `Starting ${topology.length} nodes over ${redact(config.transporter!.url)}; gateway on http://localhost:${config.http.port}/api`,
);

const metricsBase = config.metrics.port;
const children = topology.map((spec, i) => {
  const child = spawnNode(spec, { ...env, PORT: String(config.http.port), METRICS_PORT: String(metricsBase + i) });
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on("line", (line) => console.log(`[${spec.id.padEnd(10)}] ${line}`));
  }
  child.once("exit", (code, signal) => {
    if (stopping) return;
    console.error(`[${spec.id}] exited (${signal ?? code}); stopping the cluster.`);
    stop(1);
  });
  return child;
});

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log("Stopping the cluster...");
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map(exited));
  process.exit(code);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
