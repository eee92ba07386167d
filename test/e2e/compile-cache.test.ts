/**
 * Node's compile cache (compile-cache.mjs, scripts/warm-compile-cache.ts): a node started with a
 * warm cache never loads Node's TypeScript stripper, which is what spares it ~25 MB. Real
 * processes, each with a cache folder of its own; a preload of the test's own reports at exit
 * whether the stripper (Node's internal amaro module) was loaded.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import { COMPILE_CACHE_PRELOAD, SERVER_ENTRY, exited } from "../../scripts/support/cluster.ts";
import { nodeSources } from "../../scripts/warm-compile-cache.ts";
import { waitUntilReady } from "../support/node.ts";
import { freePort } from "../../scripts/support/free-port.ts";

const ROOT = path.dirname(SERVER_ENTRY);
const WARM = path.join(ROOT, "scripts/warm-compile-cache.ts");
const scratch = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `shop-compile-cache-${name}-`));

/** A preload that writes, when the process exits, whether Node's TypeScript stripper was loaded. */
function stripperProbe(dir: string): { args: string[]; loaded: () => boolean } {
  const report = path.join(dir, "stripper.json");
  const probe = path.join(dir, "probe.mjs");
  fs.writeFileSync(
    probe,
    `import fs from "node:fs";
     const loaded = () => process.moduleLoadList.some((m) => m.includes("amaro"));
     process.on("exit", () => fs.writeFileSync(${JSON.stringify(report)}, JSON.stringify(loaded())));`,
  );
  return { args: ["--import", pathToFileURL(probe).href], loaded: () => JSON.parse(fs.readFileSync(report, "utf8")) as boolean };
}

/** Only what a node's settings need: nothing configured (the embedded default) in `cwd`. */
function bareEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "warn", METRICS: "false", ...extra };
}

test("the warm-up compiles every source a node can load, its lazily loaded ones, server.ts and the health check included", () => {
  const files = nodeSources().map((f) => path.relative(ROOT, f));
  expect(files).toEqual(expect.arrayContaining(["server.ts", "broker.ts", "moleculer.config.ts", "services/products.service.ts"]));
  expect(files).toContain("integrations/database/migrator.ts"); // imported only by a node that migrates
  expect(files).toContain("deployment/healthcheck.ts"); // the image runs it every 15 s
  expect(files.some((f) => f.endsWith(".d.ts") || f.startsWith("test/") || f.startsWith("scripts/"))).toBe(false);
});

test("after the warm-up, an embedded node starts, migrates and serves, and its health check runs, without the type stripper", async () => {
  const dir = scratch("warm");
  const cache = path.join(dir, "cache");
  const warm = spawnSync(process.execPath, [WARM], { cwd: dir, env: bareEnv({ NODE_COMPILE_CACHE: cache }), encoding: "utf8" });
  expect(warm.stdout + warm.stderr).toMatch(/^Compiled \d+ source files into Node's compile cache/);
  expect(warm.status).toBe(0);
  // The throwaway settings left nothing behind: no secrets, no database.
  expect(fs.readdirSync(dir)).toEqual(["cache"]);

  const probe = stripperProbe(dir);
  const port = await freePort();
  const node = spawn(process.execPath, [...probe.args, SERVER_ENTRY], {
    cwd: dir,
    env: bareEnv({ NODE_COMPILE_CACHE: cache, PORT: String(port) }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  node.stdout!.on("data", (d) => (output += d));
  node.stderr!.on("data", (d) => (output += d));
  try {
    await waitUntilReady(`http://127.0.0.1:${port}/api`, 20_000);
    // The container's health check, as the image runs it: from the cache too.
    const checkProbe = stripperProbe(fs.mkdtempSync(path.join(dir, "check-")));
    const check = spawnSync(process.execPath, [...checkProbe.args, path.join(ROOT, "deployment/healthcheck.ts")], {
      cwd: dir,
      env: bareEnv({ NODE_COMPILE_CACHE: cache, PORT: String(port) }),
      encoding: "utf8",
    });
    expect({ status: check.status, out: check.stdout + check.stderr }).toMatchObject({
      status: 0,
      out: expect.stringMatching(/^healthy: /),
    });
    expect(checkProbe.loaded()).toBe(false);
  } finally {
    node.kill("SIGTERM");
    await exited(node);
  }
  expect({ code: node.exitCode, output }).toMatchObject({ code: 0 });
  expect(probe.loaded()).toBe(false);
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

test("compile-cache.mjs: a node's first start fills the cache, the next one reads it instead of stripping types", () => {
  const dir = scratch("preload");
  // compile-cache.mjs puts the cache in the system's temporary folder: TMPDIR here.
  const env = bareEnv({ TMPDIR: path.join(dir, "tmp") });
  fs.mkdirSync(env.TMPDIR!);
  // Every service's schema, as a node of each role loads it, without starting anything.
  const script = `const { loadServiceSchema } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, "broker.ts")).href)});
    for (const s of ["api", "users", "products", "orders", "mail", "storage"]) await loadServiceSchema(s);`;
  const run = () => {
    const probe = stripperProbe(dir);
    const r = spawnSync(process.execPath, [...probe.args, "--import", COMPILE_CACHE_PRELOAD, "--input-type=module", "-e", script], {
      cwd: dir,
      env,
      encoding: "utf8",
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    return probe.loaded();
  };
  expect(run()).toBe(true); // cold: the stripper ran, and its output went into the cache
  expect(fs.readdirSync(path.join(env.TMPDIR!, "node-compile-cache")).length).toBeGreaterThan(0);
  expect(run()).toBe(false);
  fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);
