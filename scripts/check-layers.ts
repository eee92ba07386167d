/**
 * npm run lint's layer check: imports only go down the layers (ARCHITECTURE.md), so the folder
 * of a file says which way its imports may point:
 *
 *   entry points   server.ts, scripts/, repl/, deployment/     (may import anything below)
 *   config         moleculer.config.ts
 *   services       services/   (a service never imports another service's files)
 *   parts          mixins/, middlewares/
 *   rules, adapters  domain/ | integrations/   (neither imports the other)
 *   utilities      lib/
 *
 * Tests and benchmarks (test/, bench/) may import anything. Prints each upward import with its
 * line and exits 1 when there is one; cycles are oxlint's import/no-cycle.
 */
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const RANK: Record<string, number> = {
  lib: 0,
  domain: 1,
  integrations: 1,
  mixins: 2,
  middlewares: 2,
  services: 3,
  config: 4,
  entry: 5,
  tooling: 6,
};
const SKIP = new Set(["node_modules", "data", ".git", "coverage"]);

/** The layer of a project file (path relative to the root), or null for files outside the layers (migrations). */
export function layerOf(file: string): string | null {
  const top = file.split("/")[0]!;
  if (file === "moleculer.config.ts") return "config";
  if (!file.includes("/")) return "entry"; // server.ts and other root files
  if (["scripts", "repl", "deployment"].includes(top)) return "entry";
  if (["test", "bench"].includes(top)) return "tooling";
  return top in RANK ? top : null;
}

/** The service a file of services/ belongs to: services/<name>.service.ts and services/<name>/… */
function serviceOf(file: string): string | null {
  const m = /^services\/([^/.]+)(?:\.service\.ts|\/)/.exec(file);
  return m ? m[1]! : null;
}

/** Why importing `to` from `from` breaks the layers, or null when it does not. */
export function violation(from: string, to: string): string | null {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a === null || b === null || a === "tooling") return null;
  if (b === "tooling") return `${a} imports test or bench tooling`;
  if (b === "entry" && a !== "entry") return `${a} imports an entry point`;
  if (RANK[b]! > RANK[a]!) return `${a} imports ${b}, a layer above it`;
  if (RANK[b] === RANK[a] && a !== b) return `${a} imports ${b}, beside it`;
  if (a === "services" && b === "services" && serviceOf(from) !== serviceOf(to))
    return `services/${serviceOf(from)} imports another service's file`;
  return null;
}

function* sources(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name) || entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(full);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) yield full;
  }
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s*["']([^"']+)["']|import\(\s*["'`]([^"'`]+)["'`]\s*\)/g;

export function upwardImports(root = ROOT): string[] {
  const problems: string[] = [];
  for (const full of sources(root)) {
    const from = path.relative(root, full);
    const text = fs.readFileSync(full, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      if (!spec.startsWith(".")) continue;
      const to = path.relative(root, path.resolve(path.dirname(full), spec));
      const why = violation(from, to);
      if (why) problems.push(`${from}:${text.slice(0, m.index).split("\n").length + 1}: ${spec} (${why})`);
    }
  }
  return problems;
}

if (import.meta.main) {
  const problems = upwardImports();
  for (const p of problems) console.error(p);
  if (problems.length) {
    console.error(`${problems.length} import(s) against the layers (ARCHITECTURE.md).`);
    process.exit(1);
  }
}
