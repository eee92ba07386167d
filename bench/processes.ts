/**
 * Child processes of a benchmark: started with their output kept (the end of it, for when
 * something fails), waited for until they are ready, and stopped with SIGTERM (SIGKILL after a
 * grace period), so that nothing outlives the run.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface Child {
  label: string;
  child: ChildProcess;
  pid: number;
  /** performance.now() when it was spawned. */
  startedAt: number;
  /** The last 8,000 characters it printed (stdout and stderr). */
  tail(): string;
  /** Resolves with the first line matching `pattern` (rejects when the process exits first or after `ms`). */
  line(pattern: RegExp, ms: number): Promise<string>;
  /** Whether it has exited. */
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function startChild(label: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Child {
  return watch(label, spawn(process.execPath, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] }));
}

/** Watches an already spawned process (stdout and stderr piped). */
export function watch(label: string, child: ChildProcess): Child {
  const startedAt = performance.now();
  let tail = "";
  let partial = "";
  const waiters = new Set<{ pattern: RegExp; resolve(line: string): void }>();
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const onData = (chunk: Buffer) => {
    const text = String(chunk);
    tail = (tail + text).slice(-8_000);
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      for (const w of waiters) {
        if (w.pattern.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = () => child.exitCode !== null || child.signalCode !== null;

  return {
    label,
    child,
    pid: child.pid!,
    startedAt,
    tail: () => tail,
    exited,
    line(pattern, ms) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => fail(new Error(`${label}: no line matching ${pattern} within ${ms} ms; its output:\n${tail.slice(-2_000)}`)),
          ms,
        );
        const waiter = {
          pattern,
          resolve(line: string) {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const fail = (err: Error) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          reject(err);
        };
        waiters.add(waiter);
        void closed.then(() => {
          if (waiters.has(waiter))
            fail(
              new Error(`${label} exited (${child.exitCode ?? child.signalCode}) before it was ready; its output:\n${tail.slice(-2_000)}`),
            );
        });
      });
    },
    async stop(graceMs = 15_000) {
      if (exited()) return closed;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers `ok(status, body)`; resolves with the seconds since `since` (performance.now()). */
export async function waitForHttp(
  url: string,
  ok: (status: number, body: string) => boolean,
  opts: { since: number; timeoutMs: number; intervalMs?: number; alive?: () => void },
): Promise<number> {
  const deadline = performance.now() + opts.timeoutMs;
  let last = "no answer";
  for (;;) {
    opts.alive?.();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (ok(res.status, body)) return (performance.now() - opts.since) / 1000;
      last = `${res.status} ${body.slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (performance.now() > deadline) throw new Error(`${url} did not become ready within ${opts.timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}
