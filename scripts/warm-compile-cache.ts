/**
 * node scripts/warm-compile-cache.ts
 *
 * Fills Node's compile cache (NODE_COMPILE_CACHE, else the one compile-cache.mjs uses) with every
 * source file a node can load, lazily loaded ones included, and the health check, so that no node
 * started afterwards loads Node's TypeScript stripper (compile-cache.mjs says what that spares).
 * The Docker image runs it when it is built (deployment/Dockerfile); elsewhere a node's first
 * start fills the cache with what that node loads.
 *
 * Each file is imported to be compiled. The services read their settings when imported, so this
 * process gets a throwaway configuration: NODE_ENV=development, run in a temporary folder (where
 * the embedded default makes ./data and generates its secrets) that is removed at the end.
 * Nothing connects, and nothing is left behind but the cache.
 */
import fs from "node:fs";
import os from "node:os";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { enableCompileCache, flushCompileCache, getCompileCacheDir } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startupFailure } from "./support/startup-failure.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
/**
 * What a node loads (its entry and configuration, and every layer below them) and the container's
 * health check, run every 15 s. Other scripts run when imported, and start seldom.
 */
const ENTRY_FILES = ["server.ts", "moleculer.config.ts", "broker.ts", "deployment/healthcheck.ts"];
const FOLDERS = ["services", "mixins", "middlewares", "domain", "integrations", "lib", "migrations", "repl"];

/** The TypeScript sources a node can load, as absolute paths. */
export function nodeSources(root = ROOT): string[] {
  const files = ENTRY_FILES.map((f) => path.join(root, f));
  for (const folder of FOLDERS) {
    for (const entry of fs.readdirSync(path.join(root, folder), { recursive: true, withFileTypes: true })) {
      const source = entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts");
      if (source) files.push(path.join(entry.parentPath, entry.name));
    }
  }
  return files.toSorted();
}

/** Runs this script in a process of its own, as the image build does: the caller's modules, settings and folder stay as they are. */
export function fillCompileCache(): void {
  execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { stdio: ["ignore", "ignore", "inherit"] });
}

async function main(): Promise<void> {
  enableCompileCache();
  const files = nodeSources();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "shop-warm-"));
  const cwd = process.cwd();
  // The embedded default's folders (./data: the SQLite file's folder, generated secrets) go there.
  process.chdir(scratch);
  Object.assign(process.env, { NODE_ENV: "development", SECRETS_DIR: path.join(scratch, "secrets") });
  try {
    for (const file of files) await import(pathToFileURL(file).href);
  } finally {
    process.chdir(cwd);
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  flushCompileCache();
  console.log(`Compiled ${files.length} source files into Node's compile cache (${getCompileCacheDir()}).`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    for (const line of startupFailure(err)) console.error(line);
    process.exit(1);
  }
}
