/**
 * Load for fault tests: requests from many concurrent workers, each outcome recorded (status,
 * Retry-After, error type, when it ended and how long it took), and the checks every fault
 * test makes of them (lib: docs/reliability.md).
 */
export interface Outcome {
  status: number;
  /** ms since the epoch when the answer came. */
  at: number;
  ms: number;
  retryAfter: string | null;
  type?: string;
  body?: any;
  /** What the request was about (a checkout's tag, a product id). */
  tag?: string;
}

/** One request, as an Outcome; a connection failure is status 0. */
export async function timed(url: string, init: RequestInit = {}, tag?: string): Promise<Outcome> {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return {
      status: res.status,
      at: Date.now(),
      ms: performance.now() - started,
      retryAfter: res.headers.get("retry-after"),
      type: body?.type,
      body,
      ...(tag ? { tag } : {}),
    };
  } catch (err) {
    return {
      status: 0,
      at: Date.now(),
      ms: performance.now() - started,
      retryAfter: null,
      type: (err as Error).message,
      ...(tag ? { tag } : {}),
    };
  }
}

/** `workers` loops, each sending `request(i)` one after another, until `until()` says stop (or `count` requests in all). */
export async function load(
  workers: number,
  request: (i: number) => Promise<Outcome>,
  { until, count }: { until?: () => boolean; count?: number },
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (;;) {
        if (count !== undefined && next >= count) return;
        if (until?.()) return;
        outcomes.push(await request(next++));
      }
    }),
  );
  return outcomes;
}

/** How many outcomes of each status, e.g. { 200: 950, 503: 12 }. */
export function byStatus(outcomes: readonly Outcome[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const o of outcomes) counts[o.status] = (counts[o.status] ?? 0) + 1;
  return counts;
}

/**
 * What the failure rules promise of every answer during and after a fault: never a 500, never a
 * 404 for a route that exists (none of these requests asks for something missing), never a
 * dropped connection, and an outage answered 503 or 504 with Retry-After.
 */
export function dishonest(outcomes: readonly Outcome[], allowed: readonly number[] = [200, 201, 409]): Outcome[] {
  return outcomes.filter((o) => {
    if (allowed.includes(o.status)) return false;
    return !((o.status === 503 || o.status === 504) && o.retryAfter);
  });
}

/** ms from `faultEnd` until the last failed answer (0 when none failed after it). */
export function recoveryMs(outcomes: readonly Outcome[], faultEnd: number, ok: readonly number[] = [200, 201, 409]): number {
  const lastFailure = Math.max(faultEnd, ...outcomes.filter((o) => !ok.includes(o.status)).map((o) => o.at));
  return lastFailure - faultEnd;
}

/** A line for the suite's report: what a fault did, in numbers. */
export function report(fault: string, outcomes: readonly Outcome[], extra: Record<string, unknown> = {}): string {
  const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0);
  const latency = `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, slowest ${Math.round(ms[ms.length - 1] ?? 0)} ms`;
  return `FAULT ${fault}: ${outcomes.length} requests ${JSON.stringify(byStatus(outcomes))}, ${latency}${Object.entries(extra)
    .map(([k, v]) => `, ${k} ${typeof v === "number" ? Math.round(v) : v}`)
    .join("")}`;
}
