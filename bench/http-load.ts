/**
 * Load phases for HTTP requests: warm-up, sequential latency, and throughput with a fixed
 * number of requests in flight. Every phase is bounded in count and in time, and every
 * answer is tallied by status code rather than thrown, so a slow or failing cluster still
 * ends. A request counts as successful only with a 2xx status; anything else (including a
 * network error or a client-side timeout) is a failure.
 */
import { percentiles, type Percentiles } from "./stats.ts";

/** Sends request number `i` and resolves with the HTTP status once the body has been read. */
export type Probe = (i: number, signal: AbortSignal) => Promise<number>;

/** Status codes seen ("200", "503", …, "timeout", "error") and how often. */
export type Statuses = Record<string, number>;

export interface PhaseResult extends Percentiles {
  /** Requests sent in this phase. */
  requests: number;
  /** 2xx answers. */
  ok: number;
  /** Successful requests per second over the phase's wall time. */
  perSec: number;
  seconds: number;
  statuses: Statuses;
}

export interface LoadRunner {
  /** Warm-up: sequential requests that are counted (statuses) but not timed. */
  warmup(count: number, maxMs: number): Promise<PhaseResult>;
  /** One request at a time; percentiles over the successful ones. */
  sequential(count: number, maxMs: number): Promise<PhaseResult>;
  /** `inFlight` workers issue requests until `count` were sent or `maxMs` ran out. */
  throughput(inFlight: number, count: number, maxMs: number): Promise<PhaseResult>;
  /** Every status seen over all phases. */
  readonly statuses: Statuses;
}

const isOk = (status: string) => /^2\d\d$/.test(status);

/** Non-2xx outcomes of a tally. */
export function failuresOf(statuses: Statuses): number {
  return Object.entries(statuses).reduce((n, [status, count]) => n + (isOk(status) ? 0 : count), 0);
}

/** "201×5210, 503×2": every status seen, most frequent first. */
export function formatStatuses(statuses: Statuses): string {
  return Object.entries(statuses)
    .sort((a, b) => b[1] - a[1])
    .map(([status, count]) => `${status}×${count}`)
    .join(", ");
}

/**
 * A runner for one kind of request. The request counter runs on across phases, so a probe
 * can vary its request by `i` (another page, another shopper) over the whole run.
 */
export function loadRunner(probe: Probe, requestTimeoutMs: number): LoadRunner {
  const all: Statuses = {};
  let next = 0;

  async function one(tally: Statuses): Promise<{ ok: boolean; ms: number }> {
    const i = next++;
    const start = performance.now();
    let status: string;
    try {
      status = String(await probe(i, AbortSignal.timeout(requestTimeoutMs)));
    } catch (err) {
      const name = (err as Error)?.name;
      status = name === "TimeoutError" || name === "AbortError" ? "timeout" : "error";
    }
    const ms = performance.now() - start;
    tally[status] = (tally[status] ?? 0) + 1;
    all[status] = (all[status] ?? 0) + 1;
    return { ok: isOk(status), ms };
  }

  function result(requests: number, ok: number, seconds: number, latencies: number[], statuses: Statuses): PhaseResult {
    return { ...percentiles(latencies), requests, ok, perSec: seconds > 0 ? ok / seconds : NaN, seconds, statuses };
  }

  async function sequentialPhase(count: number, maxMs: number): Promise<PhaseResult> {
    const statuses: Statuses = {};
    const latencies: number[] = [];
    let requests = 0;
    const start = performance.now();
    const deadline = start + maxMs;
    while (requests < count && performance.now() < deadline) {
      requests++;
      const r = await one(statuses);
      if (r.ok) latencies.push(r.ms);
    }
    return result(requests, latencies.length, (performance.now() - start) / 1000, latencies, statuses);
  }

  return {
    statuses: all,
    warmup: sequentialPhase,
    sequential: sequentialPhase,
    async throughput(inFlight, count, maxMs) {
      const statuses: Statuses = {};
      const latencies: number[] = [];
      let requests = 0;
      const start = performance.now();
      const deadline = start + maxMs;
      const worker = async () => {
        while (requests < count && performance.now() < deadline) {
          requests++;
          const r = await one(statuses);
          if (r.ok) latencies.push(r.ms);
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      return result(requests, latencies.length, (performance.now() - start) / 1000, latencies, statuses);
    },
  };
}
