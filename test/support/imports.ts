/**
 * Which packages a piece of code loads: run in a fresh Node process (nothing loaded before it),
 * recording every module resolved (ES modules and require alike, through module.registerHooks).
 * For the "load only what a role runs" tests.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The packages (under node_modules, by name) resolved while `body` ran: the body of an ES module,
 * top-level await allowed, with `url("lib/config.ts")` giving the URL of a file of this repository.
 */
export function packagesLoadedBy(body: string, env: Record<string, string> = {}): string[] {
  const script = `
    import { registerHooks } from "node:module";
    import { pathToFileURL } from "node:url";
    import path from "node:path";
    const seen = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const resolved = next(specifier, context);
        const m = /.*\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(resolved.url);
        if (m) seen.add(m[1]);
        return resolved;
      },
    });
    const url = (p) => pathToFileURL(path.join(${JSON.stringify(ROOT)}, p)).href;
    ${body}
    process.stdout.write("\\nPACKAGES " + JSON.stringify([...seen].sort()) + "\\n");
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "--no-warnings", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, LOG_LEVEL: "error", ...env },
  });
  const line = out.split("\n").find((l) => l.startsWith("PACKAGES "));
  if (!line) throw new Error(`no package list in the output: ${out.slice(-500)}`);
  return JSON.parse(line.slice("PACKAGES ".length)) as string[];
}
