/**
 * npm run bench [-- <benchmark>...] [-- --json]
 *
 * Runs the benchmarks (all of them, or the ones named: amqp, checkout) and prints their
 * tables (or, with --json, the results as JSON on stdout; progress always goes to stderr).
 *
 *   node bench/run.ts                 every benchmark
 *   node bench/run.ts amqp            AMQP call latency (bench/amqp-latency.ts)
 *   node bench/run.ts checkout        checkout throughput through the cluster (bench/checkout.ts)
 *
 * Environment:
 *   BENCH_AMQP_URL      RabbitMQ to measure against (default amqp://guest:guest@127.0.0.1:5672)
 *   BENCH_DATABASE_URL  PostgreSQL server for the checkout benchmark's own database, which is
 *                       created and dropped (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_QUICK=1       smaller counts and time limits, for a smoke run
 */
import os from "node:os";
import { amqpLatency, type Row } from "./amqp-latency.ts";
import { checkout, CHECKOUT_LIMITS, type CheckoutResult } from "./checkout.ts";
import { checkoutTables } from "./checkout-report.ts";
import type { Limits } from "./measure.ts";
import { formatTable } from "./table.ts";

const BENCHMARKS = ["amqp", "checkout"] as const;
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

const machine = {
  cpus: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? "unknown",
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : "-");
/** 14943x, 1.00x, 0.025x: whole numbers when large, two significant digits when small. */
const ratio = (n: number) => (!Number.isFinite(n) ? "-" : n >= 10 ? `${n.toFixed(0)}x` : n >= 1 ? `${n.toFixed(2)}x` : `${n.toPrecision(2)}x`);

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
const machineLine = `${machine.cpus} cores, ${machine.cpu}, Node ${machine.node}${quick ? ", quick mode" : ""}`;

try {
  const started = performance.now();
  let amqpRows: Row[] | undefined;
  let checkoutResult: CheckoutResult | undefined;
  for (const name of selected) {
    if (name === "amqp") {
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
            `${l.sequential} sequential requests, then ${l.inFlight.join(" and ")} in flight for ${l.throughputMs / 1000} s each (${machineLine})\n`,
        );
        console.log(checkoutTables(checkoutResult));
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (json) {
    console.log(
      JSON.stringify(
        {
          machine,
          quick,
          benchmarks: selected,
          seconds,
          ...(amqpRows ? { limits, amqpLatency: amqpRows } : {}),
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
} catch (err) {
  console.error("bench failed:", err instanceof Error ? err.message : err);
  // A broker still trying to reach RabbitMQ would keep the process alive.
  process.exit(1);
}
