/**
 * Where the CPU goes during a phase (Linux only; elsewhere `sampleCpu` returns null).
 * Reads user + system time from /proc for the given processes, for every process of the
 * named programs (PostgreSQL backends, RabbitMQ's Erlang VM), for this process, and the
 * whole machine's busy and idle time from /proc/stat. Shares are of the machine's
 * capacity (all cores), so a phase's columns add up to 100 %.
 */
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** [program name, user + system seconds] of a process, or null when it is gone. */
export function processCpu(pid: number | string): [string, number] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    // Fields 14 and 15 of proc(5), counted after the "(comm)" field: utime, stime.
    return [stat.slice(open + 1, close), (Number(fields[11]) + Number(fields[12])) / clockTicks()];
  } catch {
    return null;
  }
}

export interface CpuSample {
  at: number;
  /** CPU seconds of each labelled process. */
  labelled: Record<string, number>;
  /** CPU seconds per pid, for each program group. */
  programs: Record<string, Map<string, number>>;
  self: number;
  /** Machine-wide busy and total seconds (all cores). */
  busy: number;
  total: number;
}

/**
 * `labelled`: a label per pid (several pids may share a label: their times add up).
 * `programs`: a label per program name as /proc shows it, e.g. { postgres: ["postgres"] }.
 */
export function sampleCpu(labelled: Record<string, number[]>, programs: Record<string, string[]>): CpuSample | null {
  let machine: string;
  try {
    machine = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  } catch {
    return null;
  }
  // cpu  user nice system idle iowait irq softirq steal …  (guest time is already in user)
  const t = machine.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = t.reduce((a, b) => a + b, 0) / clockTicks();
  const idle = (t[3]! + t[4]!) / clockTicks();

  const byLabel: Record<string, number> = {};
  for (const [label, pids] of Object.entries(labelled)) {
    byLabel[label] = pids.reduce((sum, pid) => sum + (processCpu(pid)?.[1] ?? 0), 0);
  }
  const byProgram: Record<string, Map<string, number>> = Object.fromEntries(Object.keys(programs).map((k) => [k, new Map()]));
  const wanted = new Map(Object.entries(programs).flatMap(([label, names]) => names.map((n) => [n, label] as const)));
  if (wanted.size > 0) {
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      const cpu = processCpu(pid);
      const label = cpu && wanted.get(cpu[0]);
      if (cpu && label) byProgram[label]!.set(pid, cpu[1]);
    }
  }
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    labelled: byLabel,
    programs: byProgram,
    self: (self.user + self.system) / 1e6,
    busy: total - idle,
    total,
  };
}

/**
 * Shares of the machine's capacity between two samples, in percent: one per label, one per
 * program group (processes that started in between count from zero), `bench` (this
 * process), `other` (the rest of the busy time) and `idle`.
 */
export function cpuShares(a: CpuSample, b: CpuSample): Record<string, number> {
  const capacity = b.total - a.total;
  if (capacity <= 0) return {};
  const pct = (seconds: number) => (100 * Math.max(0, seconds)) / capacity;
  const shares: Record<string, number> = {};
  let accounted = 0;
  for (const label of Object.keys(b.labelled)) {
    const s = b.labelled[label]! - (a.labelled[label] ?? 0);
    shares[label] = pct(s);
    accounted += Math.max(0, s);
  }
  for (const [label, pids] of Object.entries(b.programs)) {
    let s = 0;
    for (const [pid, seconds] of pids) s += seconds - (a.programs[label]?.get(pid) ?? 0);
    shares[label] = pct(s);
    accounted += Math.max(0, s);
  }
  shares.bench = pct(b.self - a.self);
  accounted += Math.max(0, b.self - a.self);
  const busy = b.busy - a.busy;
  shares.other = pct(busy - accounted);
  shares.idle = pct(capacity - busy);
  return shares;
}

/**
 * CPU seconds spent between two samples: one entry per label and per program group (processes
 * that started in between count from zero), and `bench` (this process).
 */
export function cpuSeconds(a: CpuSample, b: CpuSample): Record<string, number> {
  const spent: Record<string, number> = {};
  for (const label of Object.keys(b.labelled)) spent[label] = Math.max(0, b.labelled[label]! - (a.labelled[label] ?? 0));
  for (const [label, pids] of Object.entries(b.programs)) {
    let s = 0;
    for (const [pid, seconds] of pids) s += Math.max(0, seconds - (a.programs[label]?.get(pid) ?? 0));
    spent[label] = s;
  }
  spent.bench = Math.max(0, b.self - a.self);
  return spent;
}

/** Resident set size of a process in bytes (VmRSS in /proc), or null when it is gone or off Linux. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
