/**
 * HTTP load with autocannon (in this process): a fixed number of keep-alive connections, each
 * sending its next request as soon as the previous answer is in, for a fixed time. The paths
 * (and bodies) can rotate per request. Latency percentiles come from every response's own
 * time (autocannon's histogram rounds to whole milliseconds); statuses are tallied, and only
 * 2xx answers count as successful requests.
 */
import { createRequire } from "node:module";
import { percentiles, type Percentiles } from "./stats.ts";
import type { Statuses } from "./http-load.ts";

// autocannon ships no type declarations; this is the little of it used here.
interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: CannonRequest) => CannonRequest;
}
interface CannonResult {
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface CannonInstance extends Promise<CannonResult> {
  on(event: "response", fn: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
}
type Autocannon = (opts: Record<string, unknown>) => CannonInstance;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

export interface CannonOptions {
  /** Origin, e.g. http://127.0.0.1:3000 */
  origin: string;
  /** The path of request number i (counted per connection round, over the whole run). */
  path: (i: number) => string;
  method?: "GET" | "POST";
  headers?: (i: number) => Record<string, string>;
  body?: (i: number) => string;
  connections: number;
  seconds: number;
  /** Seconds before an unanswered request counts as a timeout. */
  timeoutSeconds?: number;
}

export interface CannonLoad extends Percentiles {
  /** Requests answered (any status). */
  requests: number;
  /** 2xx answers. */
  ok: number;
  /** Successful requests per second over the run. */
  perSec: number;
  seconds: number;
  statuses: Statuses;
}

export async function cannon(opts: CannonOptions): Promise<CannonLoad> {
  let i = 0;
  const latencies: number[] = [];
  const statuses: Statuses = {};
  const request: CannonRequest = {
    method: opts.method ?? "GET",
    setupRequest(req) {
      const n = i++;
      const next: CannonRequest = { ...req, path: opts.path(n) };
      if (opts.headers) next.headers = { ...req.headers, ...opts.headers(n) };
      if (opts.body) next.body = opts.body(n);
      return next;
    },
  };
  const started = performance.now();
  const instance = autocannon({
    url: opts.origin,
    connections: opts.connections,
    duration: opts.seconds,
    timeout: opts.timeoutSeconds ?? 10,
    requests: [request],
  });
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    const key = String(statusCode);
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  if (result.errors - result.timeouts > 0) statuses.error = result.errors - result.timeouts;
  if (result.timeouts > 0) statuses.timeout = result.timeouts;
  const requests = Object.values(statuses).reduce((a, b) => a + b, 0);
  return { ...percentiles(latencies), requests, ok: latencies.length, perSec: latencies.length / seconds, seconds, statuses };
}
