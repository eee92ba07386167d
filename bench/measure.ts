/**
 * Measures one way of calling an action: sequential latency, then throughput with a fixed
 * number of calls in flight. Both phases are bounded in count and in time, and every
 * failed call is counted rather than thrown, so a slow or broken setup still ends.
 */
import { percentiles, type Percentiles } from "./stats.ts";

export type Call = () => Promise<unknown>;

export interface Limits {
  /** Sequential calls made before measuring, bounded by `warmupMs`. */
  warmup: number;
  warmupMs: number;
  /** Sequential calls timed one by one, bounded by `sequentialMs`. */
  sequential: number;
  sequentialMs: number;
  /** Calls kept in flight during the throughput phase. */
  inFlight: number;
  /** Calls issued in the throughput phase, bounded by `throughputMs`. */
  throughput: number;
  throughputMs: number;
}

export interface Measurement extends Percentiles {
  /** Latency samples behind the percentiles (successful sequential calls). */
  samples: number;
  /** Successful calls per second with `inFlight` calls outstanding. */
  callsPerSec: number;
  /** Failed calls over all phases. */
  failures: number;
}

export async function measure(call: Call, limits: Limits): Promise<Measurement> {
  let failures = 0;
  const attempt = async (): Promise<boolean> => {
    try {
      await call();
      return true;
    } catch {
      failures++;
      return false;
    }
  };

  // Warm-up: JIT, connections, the first discovery round trips.
  let deadline = performance.now() + limits.warmupMs;
  for (let i = 0; i < limits.warmup && performance.now() < deadline; i++) await attempt();

  // Sequential latency: one call at a time.
  const latencies: number[] = [];
  deadline = performance.now() + limits.sequentialMs;
  for (let i = 0; i < limits.sequential && performance.now() < deadline; i++) {
    const start = performance.now();
    if (await attempt()) latencies.push(performance.now() - start);
  }

  // Throughput: `inFlight` workers issue calls until the count or the time runs out.
  let issued = 0;
  let ok = 0;
  const start = performance.now();
  deadline = start + limits.throughputMs;
  const worker = async () => {
    while (issued < limits.throughput && performance.now() < deadline) {
      issued++;
      if (await attempt()) ok++;
    }
  };
  await Promise.all(Array.from({ length: limits.inFlight }, worker));
  const seconds = (performance.now() - start) / 1000;

  return { ...percentiles(latencies), samples: latencies.length, callsPerSec: ok / seconds, failures };
}
