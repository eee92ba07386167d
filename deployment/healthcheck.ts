/**
 * Container health check for every role of the one image (Dockerfile HEALTHCHECK, compose,
 * ECS). Exit 0 healthy, 1 not, with one line saying why.
 *
 *   node deployment/healthcheck.ts          readiness (Docker/compose default)
 *   node deployment/healthcheck.ts live     liveness (ECS: never kill a task for a peer's fault)
 *
 * It reads the same variables as the node, through lib/config.ts, so PORT, HOST, SERVICES,
 * METRICS and METRICS_PORT mean the same thing to both. In the image it runs every 15 s, so its
 * compiled form comes from the compile cache too (scripts/warm-compile-cache.ts): ~0.1 s of CPU
 * less per check.
 *
 * - A node running the gateway (SERVICES includes api): GET /api/health/ready — 200 once
 *   the critical services (users, products, orders) are discovered, routed and reach their
 *   database ("ok", or "degraded" while mail or storage is away) — or, for `live`,
 *   GET /api/health/live (the process answers HTTP).
 * - Any other node has no HTTP port of its own, so it is probed on its Prometheus endpoint
 *   (METRICS_PORT): the endpoint answers (event loop alive) and moleculer_broker_started is 1
 *   (every local service started, database connected); for readiness also
 *   moleculer_transit_connected is 1 (connected to RabbitMQ) when a TRANSPORTER is set.
 *   With METRICS=false there is nothing to ask without HTTP: the check then only reports that
 *   the container runs (exit 0), so keep METRICS on wherever health checks matter.
 */
import { loadConfig } from "../lib/config.ts";

const mode = process.argv[2] ?? "ready";
const TIMEOUT_MS = 4000; // below the 5 s HEALTHCHECK/ECS timeout

function fail(message: string): never {
  console.error(`unhealthy: ${message}`);
  process.exit(1);
}

/** Where to reach a server listening on `host` from inside the same container. */
function loopback(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return fail(`${url}: ${(err as Error).cause ?? (err as Error).message}`);
  }
}

/** The value of an unlabelled-or-labelled Prometheus gauge, e.g. `moleculer_broker_started{...} 1`. */
function gauge(metrics: string, name: string): number | undefined {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.trim().split(/\s+/).pop());
}

/** Runs the check (only when this file is what node runs: scripts/warm-compile-cache.ts imports it to compile it). */
async function main(): Promise<void> {
  if (mode !== "ready" && mode !== "live") fail(`unknown mode "${mode}": use ready or live`);

  let cfg;
  try {
    cfg = loadConfig(process.env);
  } catch (err) {
    fail(`configuration: ${(err as Error).message}`);
  }

  if (cfg.services.includes("api")) {
    if (cfg.http.port === 0) fail("PORT=0 (a random port) cannot be probed");
    const url = `http://${loopback(cfg.http.host)}:${cfg.http.port}/api/health/${mode}`;
    const { status, body } = await get(url);
    if (status !== 200) fail(`${url} answered ${status} ${body.slice(0, 300)}`);
    console.log(`healthy: ${url} ${body.slice(0, 300)}`);
  } else if (!cfg.metrics.enabled) {
    console.log("healthy (unchecked): METRICS=false leaves a node without the gateway nothing to probe");
  } else {
    const url = `http://127.0.0.1:${cfg.metrics.port}/metrics`;
    const { status, body } = await get(url);
    if (status !== 200) fail(`${url} answered ${status}`);
    if (gauge(body, "moleculer_broker_started") !== 1) fail("the broker has not started (moleculer_broker_started is not 1)");
    if (mode === "ready" && cfg.transporter && gauge(body, "moleculer_transit_connected") !== 1) {
      fail("not connected to the transporter (moleculer_transit_connected is not 1)");
    }
    const connected = mode === "ready" && cfg.transporter ? ", transporter connected" : "";
    console.log(`healthy: services [${cfg.services.join(",")}] started${connected}`);
  }
}

if (import.meta.main) await main();
