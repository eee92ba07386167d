/**
 * npm run bench [-- --json]
 *
 * Runs the benchmarks and prints a table (or, with --json, the results as JSON on stdout;
 * progress always goes to stderr). Environment:
 *   BENCH_AMQP_URL  RabbitMQ to measure against (default amqp://guest:guest@127.0.0.1:5672)
 *   BENCH_QUICK=1   smaller counts and time limits, for a smoke run
 */
import os from "node:os";
import { amqpLatency, type Row } from "./amqp-latency.ts";
import type { Limits } from "./measure.ts";
import { formatTable } from "./table.ts";

const json = process.argv.includes("--json");
const quick = ["1", "true", "yes"].includes(process.env.BENCH_QUICK ?? "");
const url = process.env.BENCH_AMQP_URL || "amqp://guest:guest@127.0.0.1:5672";

const limits: Limits = quick
  ? { warmup: 50, warmupMs: 1_000, sequential: 300, sequentialMs: 3_000, inFlight: 64, throughput: 10_000, throughputMs: 2_000 }
  : { warmup: 200, warmupMs: 3_000, sequential: 2_000, sequentialMs: 10_000, inFlight: 64, throughput: 100_000, throughputMs: 5_000 };

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

try {
  const started = performance.now();
  const rows = await amqpLatency(url, limits, progress);
  const seconds = (performance.now() - started) / 1000;
  if (json) {
    console.log(JSON.stringify({ machine, quick, limits, seconds, amqpLatency: rows }, null, 2));
  } else {
    console.log(`\nAMQP call latency: ${limits.sequential} sequential calls, then ${limits.inFlight} in flight` +
      ` (${machine.cpus} cores, ${machine.cpu}, Node ${machine.node}${quick ? ", quick mode" : ""})\n`);
    console.log(amqpLatencyTable(rows));
    console.log(`\nTotal ${seconds.toFixed(1)} s.`);
  }
} catch (err) {
  console.error("bench failed:", err instanceof Error ? err.message : err);
  // A broker still trying to reach RabbitMQ would keep the process alive.
  process.exit(1);
}
