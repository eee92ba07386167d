/**
 * Profiling the servers a benchmark starts, when BENCH_PROFILE_DIR names a folder:
 *
 *  - every server process runs with `--cpu-prof` (its profile lands in <dir>/<scenario>/ when
 *    it exits) and with the probe preloaded (bench/probe.ts: moleculer packets, AMQP messages
 *    and SQL statements counted per node);
 *  - `mark(label, pids)` records the moment (CLOCK_MONOTONIC, the profiles' clock) and each
 *    process's CPU time so far (/proc) in <dir>/marks.jsonl, and has each process's probe write
 *    its counts so far, so that bench/profile-summary.ts can cut a profile and the counts to the
 *    window between two marks, and scale the samples to the CPU time the process really used.
 *
 * Without BENCH_PROFILE_DIR all of this does nothing. Profiled figures are slower than the
 * plain ones (the sampler and the probe cost a few per cent): profile and measure in separate runs.
 */
import path from "node:path";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { processCpu } from "./cpu.ts";

const dir = process.env.BENCH_PROFILE_DIR ? path.resolve(process.env.BENCH_PROFILE_DIR) : undefined;
const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), "probe.ts");

export const profiling = dir !== undefined;

/** `env` for a server of `scenario`: with the profiler and the probe when profiling. */
export function profiledEnv(scenario: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!dir) return env;
  const out = path.join(dir, scenario);
  mkdirSync(out, { recursive: true });
  const options = [env.NODE_OPTIONS ?? "", "--cpu-prof", `--cpu-prof-dir=${out}`, `--import=${pathToFileURL(PROBE).href}`].join(" ").trim();
  return { ...env, NODE_OPTIONS: options, BENCH_PROBE_DIR: out };
}

/** Microseconds on CLOCK_MONOTONIC, the clock of V8's profiles. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * A named moment of the run (e.g. "orders@16 start"), for the processes `pids` of `scenario`;
 * `extra` goes with it (an end mark carries the phase's successful `requests`). The probes
 * write their counts when signalled; they get a moment for it before the next phase.
 */
export async function mark(scenario: string, label: string, pids: number[], extra: Record<string, unknown> = {}): Promise<void> {
  if (!dir) return;
  const out = path.join(dir, scenario);
  mkdirSync(out, { recursive: true });
  // The CPU time each process has used so far: a profile's samples are taken on wall-clock
  // ticks, so on a saturated machine they also count time a process waited for a core.
  const cpu = Object.fromEntries(pids.map((pid) => [pid, processCpu(pid)?.[1] ?? null]));
  appendFileSync(
    path.join(dir, "marks.jsonl"),
    `${JSON.stringify({ scenario, label, us: monotonicMicros(), at: new Date().toISOString(), cpu, ...extra })}\n`,
  );
  writeFileSync(path.join(out, ".mark"), label);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGUSR2");
    } catch {
      /* gone */
    }
  }
  await new Promise((r) => setTimeout(r, 300));
}
