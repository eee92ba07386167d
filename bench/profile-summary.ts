/**
 * Where the time went: summarises the profiles and probe counts of a profiled benchmark run
 * (BENCH_PROFILE_DIR, bench/profiling.ts), per phase (the window between a "<phase> start" and
 * a "<phase> end" mark) and per process.
 *
 *   node bench/profile-summary.ts <dir> [--scenario checkout] [--phase orders@16] [--top 25] [--files] [--json]
 *   node bench/profile-summary.ts <dir> --phase orders@16 --stacks DOMException [--depth 8]   who calls it
 *
 * For each process: the CPU time sampled in the window (idle excluded) per request, and the
 * functions and modules ranked by self time (the function itself) and total time (everything
 * it called too), in ms per request, where a module is a package (node_modules/<name>), a
 * file of the project, or Node's internals (with --files: each file of a package, of Node); then the probe's counts per request: moleculer
 * packets sent and received, AMQP messages published and delivered, SQL statements.
 * Without requests in the end mark, figures are ms over the whole window.
 */
import { readFileSync, readdirSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { formatTable } from "./table.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}
interface Mark {
  scenario: string;
  label: string;
  us: number;
  requests?: number;
  /** CPU seconds each process (by pid) had used at the mark (/proc). */
  cpu?: Record<string, number | null>;
}
type Counts = Record<string, Record<string, number>>;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Modules are packages, or (`--files`) the files inside them. */
let byFile = false;

/** The module a frame belongs to: a package, a project file, Node's internals, or V8's pseudo-frames. */
export function moduleOf(frame: CallFrame): string {
  const url = frame.url;
  if (!url) {
    if (frame.functionName.startsWith("(")) return frame.functionName; // (garbage collector), (program), (idle), (root)
    return "(native)";
  }
  if (url.startsWith("node:")) return byFile ? url : "node:internals";
  let file = url.startsWith("file://") ? fileURLToPath(url) : url;
  const nm = file.lastIndexOf("/node_modules/");
  if (nm !== -1) {
    const rest = file.slice(nm + "/node_modules/".length).split("/");
    const scoped = rest[0]!.startsWith("@");
    const pkg = scoped ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return byFile ? `${pkg}/${rest.slice(scoped ? 2 : 1).join("/")}` : pkg;
  }
  if (file.startsWith(ROOT)) file = path.relative(ROOT, file);
  return file;
}

function functionKey(frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  if (frame.url.startsWith("node:")) return `${name} ${frame.url}:${frame.lineNumber + 1}`;
  const file = frame.url.startsWith("file://") ? fileURLToPath(frame.url) : frame.url;
  // A package's file by its path inside the package; a project file by its path in the project.
  const nm = file.lastIndexOf("/node_modules/");
  const where = nm !== -1 ? file.slice(nm + "/node_modules/".length) : path.relative(ROOT, file);
  return `${name} ${where}:${frame.lineNumber + 1}`;
}

export interface ProcessSummary {
  process: string;
  /** Sampled time (idle excluded) in ms: wall-clock ticks spent in JavaScript, running or waiting for a core. */
  busyMs: number;
  /** CPU time the process used in the window (/proc: every thread), when the marks have it. */
  cpuMs: number | null;
  /** CPU ms per request (the /proc figure when there is one, else the sampled one). */
  perRequestMs: number | null;
  requests: number | null;
  selfByFunction: [string, number][];
  totalByFunction: [string, number][];
  selfByModule: [string, number][];
  totalByModule: [string, number][];
}

/**
 * Self and total time per function and per module in [fromUs, toUs]. The figures are the
 * samples' shares of `cpuMs` (the process's CPU time in the window) when it is given, else the
 * sampled time itself, in ms divided by `per` (the requests).
 */
export function summariseProfile(
  profile: Profile,
  fromUs: number,
  toUs: number,
  per: number,
  cpuMs: number | null = null,
): Omit<ProcessSummary, "process" | "requests" | "perRequestMs" | "cpuMs"> & { busyMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfF = new Map<string, number>();
  const totalF = new Map<string, number>();
  const selfM = new Map<string, number>();
  const totalM = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  let busy = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    // A sample stands for the time until the next one.
    const weight = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    const leaf = byId.get(profile.samples[i]!);
    if (!leaf || leaf.callFrame.functionName === "(idle)") continue;
    busy += weight;
    add(selfF, functionKey(leaf.callFrame), weight);
    add(selfM, moduleOf(leaf.callFrame), weight);
    const seenF = new Set<string>();
    const seenM = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === "(root)") break;
      const f = functionKey(frame);
      const m = moduleOf(frame);
      if (!seenF.has(f)) {
        seenF.add(f);
        add(totalF, f, weight);
      }
      if (!seenM.has(m)) {
        seenM.add(m);
        add(totalM, m, weight);
      }
    }
  }
  const scale = cpuMs !== null && busy > 0 ? cpuMs / busy : 1;
  const ranked = (m: Map<string, number>) => [...m].map(([k, v]) => [k, (v * scale) / per] as [string, number]).sort((a, b) => b[1] - a[1]);
  return {
    busyMs: busy,
    selfByFunction: ranked(selfF),
    totalByFunction: ranked(totalF),
    selfByModule: ranked(selfM),
    totalByModule: ranked(totalM),
  };
}

/** The call paths (leaf first, `depth` frames) of the samples with a frame matching `match`, and their sampled ms. */
export function stacksOf(profile: Profile, fromUs: number, toUs: number, match: string, depth: number): [string, number][] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stacks = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const frames: string[] = [];
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.functionName === "(root)") break;
      frames.push(functionKey(frame));
    }
    const at = frames.findIndex((f) => f.includes(match));
    if (at === -1) continue;
    const key = frames.slice(at, at + depth).join("  <  ");
    stacks.set(key, (stacks.get(key) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  }
  return [...stacks].sort((a, b) => b[1] - a[1]);
}

function diffCounts(a: Counts | undefined, b: Counts, per: number): Record<string, [string, number][]> {
  const out: Record<string, [string, number][]> = {};
  for (const [kind, counts] of Object.entries(b)) {
    const rows: [string, number][] = [];
    for (const [key, n] of Object.entries(counts)) {
      const d = n - (a?.[kind]?.[key] ?? 0);
      if (d > 0) rows.push([key, d / per]);
    }
    out[kind] = rows.sort((x, y) => y[1] - x[1]);
  }
  return out;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      scenario: { type: "string" },
      phase: { type: "string" },
      top: { type: "string", default: "20" },
      files: { type: "boolean", default: false },
      stacks: { type: "string" },
      depth: { type: "string", default: "8" },
      json: { type: "boolean", default: false },
    },
  });
  byFile = values.files;
  const dir = positionals[0];
  if (!dir) {
    console.error("usage: node bench/profile-summary.ts <BENCH_PROFILE_DIR> [--scenario name] [--phase name] [--top 20] [--json]");
    process.exit(2);
  }
  const top = Number(values.top);
  const marks: Mark[] = existsSync(path.join(dir, "marks.jsonl"))
    ? readFileSync(path.join(dir, "marks.jsonl"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Mark)
    : [];
  const scenarios = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && (!values.scenario || d.name === values.scenario))
    .map((d) => d.name);
  const json: unknown[] = [];
  for (const scenario of scenarios) {
    const sdir = path.join(dir, scenario);
    // Process names from the probe's folders: <node>-<pid>.
    const names = new Map<string, string>();
    const probeDir = path.join(sdir, "probe");
    const probes = existsSync(probeDir) ? readdirSync(probeDir) : [];
    for (const p of probes) names.set(p.slice(p.lastIndexOf("-") + 1), p);
    const profiles = readdirSync(sdir).filter((f) => f.endsWith(".cpuprofile"));
    const phases = marks
      .filter((m) => m.scenario === scenario && m.label.endsWith(" start"))
      .map((m) => m.label.slice(0, -" start".length));
    for (const phase of phases) {
      if (values.phase && phase !== values.phase) continue;
      const start = marks.find((m) => m.scenario === scenario && m.label === `${phase} start`)!;
      const end = marks.find((m) => m.scenario === scenario && m.label === `${phase} end`);
      if (!end) continue;
      const requests = end.requests ?? null;
      const per = requests ?? 1;
      const unit = requests ? "ms per request" : "ms in the window";
      const seconds = (end.us - start.us) / 1e6;
      const out: string[] = [
        `\n=== ${scenario} / ${phase}: ${seconds.toFixed(1)} s${requests ? `, ${requests} successful requests` : ""} (${unit}) ===`,
      ];
      const summaries: ProcessSummary[] = [];
      for (const file of profiles) {
        const pid = /\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1] ?? "?";
        const profile = JSON.parse(readFileSync(path.join(sdir, file), "utf8")) as Profile;
        if (profile.endTime < start.us || profile.startTime > end.us) continue;
        const before = start.cpu?.[pid];
        const after = end.cpu?.[pid];
        const cpuMs = typeof before === "number" && typeof after === "number" ? (after - before) * 1000 : null;
        const s = summariseProfile(profile, start.us, end.us, per, cpuMs);
        if (values.stacks) {
          const found = stacksOf(profile, start.us, end.us, values.stacks, Number(values.depth)).slice(0, top);
          if (found.length) {
            out.push(`\nCall paths through "${values.stacks}" in ${names.get(pid) ?? pid} (sampled ms in the window):`);
            for (const [stack, ms] of found) out.push(`${ms.toFixed(0).padStart(6)}  ${stack}`);
          }
        }
        summaries.push({
          process: names.get(pid) ?? `pid ${pid}`,
          requests,
          cpuMs,
          perRequestMs: requests ? (cpuMs ?? s.busyMs) / requests : null,
          ...s,
        });
      }
      summaries.sort((a, b) => (b.cpuMs ?? b.busyMs) - (a.cpuMs ?? a.busyMs));
      out.push(
        formatTable(
          ["process", "sampled ms", "CPU ms (/proc)", requests ? "CPU ms/request" : "", "top modules (self)"],
          summaries.map((s) => [
            s.process,
            s.busyMs.toFixed(0),
            s.cpuMs === null ? "-" : s.cpuMs.toFixed(0),
            s.perRequestMs === null ? "" : s.perRequestMs.toFixed(3),
            s.selfByModule
              .slice(0, 4)
              .map(([m, v]) => `${m} ${v.toFixed(3)}`)
              .join(", "),
          ]),
        ),
      );
      for (const s of summaries) {
        out.push(
          `\n--- ${s.process}: ` +
            `${s.perRequestMs === null ? `${(s.cpuMs ?? s.busyMs).toFixed(0)} ms` : `${s.perRequestMs.toFixed(3)} ms CPU per request`}` +
            (s.cpuMs !== null
              ? ` (samples scaled to the process's CPU time: ${s.busyMs.toFixed(0)} ms sampled, ${s.cpuMs.toFixed(0)} ms used)`
              : ""),
        );
        const pair = (a: [string, number][], b: [string, number][], ha: string, hb: string) =>
          formatTable(
            [ha, unit, hb, unit],
            Array.from({ length: Math.min(top, Math.max(a.length, b.length)) }, (_, i) => [
              a[i]?.[0] ?? "",
              a[i] ? a[i]![1].toFixed(4) : "",
              b[i]?.[0] ?? "",
              b[i] ? b[i]![1].toFixed(4) : "",
            ]),
          );
        out.push(pair(s.selfByModule, s.totalByModule, "module (self)", "module (total)"));
        out.push("");
        out.push(pair(s.selfByFunction, s.totalByFunction, "function (self)", "function (total)"));
      }
      // The probe's counts between the two marks.
      const counted: { process: string; counts: Record<string, [string, number][]> }[] = [];
      for (const p of probes) {
        const file = (label: string) => path.join(probeDir, p, `${label.replace(/[^\w@.-]+/g, "_")}.json`);
        if (!existsSync(file(`${phase} end`))) continue;
        const a = existsSync(file(`${phase} start`))
          ? (JSON.parse(readFileSync(file(`${phase} start`), "utf8")) as { counts: Counts }).counts
          : undefined;
        const b = (JSON.parse(readFileSync(file(`${phase} end`), "utf8")) as { counts: Counts }).counts;
        counted.push({ process: p, counts: diffCounts(a, b, per) });
      }
      if (counted.length) {
        out.push(`\nCounts ${requests ? "per request" : "in the window"} (bench/probe.ts):`);
        const kinds = ["sent", "received", "amqpPublished", "amqpDelivered", "sql"];
        const rows: string[][] = [];
        for (const c of counted) {
          for (const kind of kinds) {
            for (const [key, n] of c.counts[kind] ?? []) if (n >= 0.01) rows.push([c.process, kind, key, n.toFixed(2)]);
          }
        }
        out.push(formatTable(["process", "what", "key", requests ? "per request" : "count"], rows));
        const totals = kinds.map(
          (k) => `${k} ${counted.reduce((sum, c) => sum + (c.counts[k] ?? []).reduce((x, [, n]) => x + n, 0), 0).toFixed(2)}`,
        );
        out.push(`All processes: ${totals.join(", ")}.`);
      }
      if (values.json)
        json.push({
          scenario,
          phase,
          seconds,
          requests,
          summaries: summaries.map((s) => ({
            ...s,
            selfByFunction: s.selfByFunction.slice(0, top),
            totalByFunction: s.totalByFunction.slice(0, top),
          })),
          counted,
        });
      else console.log(out.join("\n"));
    }
  }
  if (values.json) console.log(JSON.stringify(json, null, 2));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
