/**
 * npm run bench [-- <benchmark>...] [-- --json]
 *
 * Runs the benchmarks (all of them, or the ones named: amqp, anchors, checkout) and prints
 * their tables (or, with --json, the results as JSON on stdout; progress always goes to
 * stderr). With anchors and checkout in the same run, a last table puts issue 15's targets
 * next to the ratios measured.
 *
 *   node bench/run.ts                 every benchmark
 *   node bench/run.ts amqp            AMQP call latency (bench/amqp-latency.ts)
 *   node bench/run.ts anchors         reads against the frameworks' floors and a monolith (bench/anchors.ts)
 *   node bench/run.ts checkout        checkout throughput through the cluster (bench/checkout.ts)
 *
 * Environment:
 *   BENCH_AMQP_URL      RabbitMQ to measure against (default amqp://guest:guest@127.0.0.1:5672)
 *   BENCH_DATABASE_URL  PostgreSQL server for the checkout benchmark's own database, which is
 *                       created and dropped (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_QUICK=1       smaller counts and time limits, for a smoke run
 *   BENCH_ANCHORS       the anchors to run, comma-separated (default: all; bench/anchors.ts)
 *   BENCH_PROFILE_DIR   profile the servers into this folder (bench/profiling.ts); the figures
 *                       of such a run are slower than plain ones
 */
import os from "node:os";
import { amqpLatency, type Row } from "./amqp-latency.ts";
import { checkout, CHECKOUT_LIMITS, type CheckoutResult } from "./checkout.ts";
import { checkoutTables } from "./checkout-report.ts";
import { anchors, ANCHOR_LIMITS, ANCHOR_SCENARIOS, type AnchorScenario, type AnchorsResult } from "./anchors.ts";
import { anchorsTable, targetsTable } from "./anchors-report.ts";
import type { Limits } from "./measure.ts";
import { formatTable } from "./table.ts";
import { fillCompileCache } from "../scripts/warm-compile-cache.ts";

const BENCHMARKS = ["amqp", "anchors", "checkout"] as const;
type Benchmark = (typeof BENCHMARKS)[number];

const json = process.argv.includes("--json");
const named = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const unknown = named.filter((a) => !(BENCHMARKS as readonly string[]).includes(a));
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.join(", ")}; choose from ${BENCHMARKS.join(", ")} (none: all of them).`);
  process.exit(2);
}
const selected: Benchmark[] = named.length > 0 ? BENCHMARKS.filter((b) => named.includes(b)) : [...BENCHMARKS];

const quick = ["1", "true", "yes"].includes(process.env.BENCH_QUICK ?? "");
const url = process.env.BENCH_AMQP_URL || "amqp://guest:guest@127.0.0.1:5672";
const pgAdminUrl = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";

const limits: Limits = quick
  ? { warmup: 50, warmupMs: 1_000, sequential: 300, sequentialMs: 3_000, inFlight: 64, throughput: 10_000, throughputMs: 2_000 }
  : { warmup: 200, warmupMs: 3_000, sequential: 2_000, sequentialMs: 10_000, inFlight: 64, throughput: 100_000, throughputMs: 5_000 };
const checkoutLimits = quick ? CHECKOUT_LIMITS.quick : CHECKOUT_LIMITS.full;
const anchorLimits = quick ? ANCHOR_LIMITS.quick : ANCHOR_LIMITS.full;
const anchorNames = (process.env.BENCH_ANCHORS ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const badAnchors = anchorNames.filter((a) => !(ANCHOR_SCENARIOS as readonly string[]).includes(a));
if (badAnchors.length > 0) {
  console.error(`Unknown anchor ${badAnchors.join(", ")} in BENCH_ANCHORS; choose from ${ANCHOR_SCENARIOS.join(", ")}.`);
  process.exit(2);
}
const anchorScenarios = anchorNames.length > 0 ? (anchorNames as AnchorScenario[]) : undefined;

const machine = {
  cpus: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? "unknown",
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : "-");
/** 14943x, 1.00x, 0.025x: whole numbers when large, two significant digits when small. */
const ratio = (n: number) =>
  !Number.isFinite(n) ? "-" : n >= 10 ? `${n.toFixed(0)}x` : n >= 1 ? `${n.toFixed(2)}x` : `${n.toPrecision(2)}x`;

function amqpLatencyTable(rows: Row[]): string {
  return formatTable(
    ["config", "p50 ms", "p90 ms", "p99 ms", "calls/s", "failures", "p50 vs local", "calls/s vs local"],
    rows.map((r) => [
      r.config,
      ms(r.p50),
      ms(r.p90),
      ms(r.p99),
      Math.round(r.callsPerSec).toString(),
      r.failures.toString(),
      ratio(r.p50VsLocal),
      ratio(r.throughputVsLocal),
    ]),
  );
}

const progress = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
/** The machine's load average now: other work on the machine skews every figure. */
const loadLine = () =>
  `load average ${os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(" ")}`;
const machineLine = `${machine.cpus} cores, ${machine.cpu}, Node ${machine.node}${quick ? ", quick mode" : ""}`;

try {
  const started = performance.now();
  if (selected.some((name) => name !== "amqp")) {
    // Nodes start with the compile cache on (compile-cache.mjs); filled first, as the Docker image
    // is, so that no figure depends on which sources earlier runs happened to load.
    progress("filling Node's compile cache (scripts/warm-compile-cache.ts)");
    fillCompileCache();
  }
  let amqpRows: Row[] | undefined;
  let checkoutResult: CheckoutResult | undefined;
  let anchorsResult: AnchorsResult | undefined;
  for (const name of selected) {
    if (name === "anchors") {
      anchorsResult = await anchors({ amqpUrl: url, pgAdminUrl, limits: anchorLimits, scenarios: anchorScenarios, progress });
      if (!json) {
        const l = anchorsResult.limits;
        console.log(
          `\nAnchors: GET /api/products/:id over ${l.connections} connections (autocannon), ` +
            `${l.seconds} s each after ${l.warmupSeconds} s of warm-up, ` +
            `${l.products} products; the monolith's checkout at ${l.checkoutInFlight.join(" and ")} in flight ` +
            `for ${l.checkoutSeconds} s (${machineLine}; ${loadLine()})\n`,
        );
        console.log(anchorsTable(anchorsResult));
      }
    } else if (name === "amqp") {
      amqpRows = await amqpLatency(url, limits, progress);
      if (!json) {
        console.log(`\nAMQP call latency: ${limits.sequential} sequential calls, then ${limits.inFlight} in flight (${machineLine})\n`);
        console.log(amqpLatencyTable(amqpRows));
      }
    } else {
      checkoutResult = await checkout({ amqpUrl: url, pgAdminUrl, limits: checkoutLimits, progress });
      if (!json) {
        const l = checkoutResult.limits;
        console.log(
          `\nCheckout through the cluster (${checkoutResult.nodes.length} nodes: ${checkoutResult.nodes.join(", ")}): ` +
            `${l.sequential} sequential requests, then ${l.inFlight.join(" and ")} in flight ` +
            `for ${l.throughputMs / 1000} s each (${machineLine})\n`,
        );
        console.log(checkoutTables(checkoutResult));
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (!json && anchorsResult && checkoutResult) {
    console.log(`\nIssue 15's targets, ratios from this run (${machineLine}; ${loadLine()}):\n`);
    console.log(targetsTable(anchorsResult, checkoutResult));
  }
  if (json) {
    console.log(
      JSON.stringify(
        {
          machine,
          quick,
          benchmarks: selected,
          seconds,
          ...(amqpRows ? { limits, amqpLatency: amqpRows } : {}),
          ...(anchorsResult ? { anchors: anchorsResult } : {}),
          ...(checkoutResult ? { checkout: checkoutResult } : {}),
        },
        null,
        2,
      ),
    );
  } else {
    console.log(`\nTotal ${seconds.toFixed(1)} s.`);
  }
  // A failed correctness check fails the run.
  if (checkoutResult && !checkoutResult.stock.ok) process.exitCode = 1;
  if (anchorsResult?.monolithStock && !anchorsResult.monolithStock.ok) process.exitCode = 1;
} catch (err) {
  console.error("bench failed:", err instanceof Error ? err.message : err);
  // A broker still trying to reach RabbitMQ would keep the process alive.
  process.exit(1);
}
