/**
 * The local multi-process topology (`npm run cluster`, the end-to-end tests, and the same
 * roles docker-compose runs): one gateway node and one node per service, products and orders twice.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export interface NodeSpec {
  /** NODE_ID of the process, unique in the cluster. */
  id: string;
  /** SERVICES of the process. */
  services: string;
}

export const LOCAL_CLUSTER: readonly NodeSpec[] = [
  { id: "api-1", services: "api" },
  { id: "users-1", services: "users" },
  { id: "products-1", services: "products" },
  { id: "products-2", services: "products" },
  { id: "orders-1", services: "orders" },
  { id: "orders-2", services: "orders" },
  { id: "mail-1", services: "mail" },
  { id: "storage-1", services: "storage" },
];

export const SERVER_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../server.ts");
/** For `--import`: the preload that turns the compile cache on before the first source is read (compile-cache.mjs). */
export const COMPILE_CACHE_PRELOAD = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../compile-cache.mjs"),
).href;
/** Node's arguments that start a node as `npm start` does. */
export const SERVER_ARGS = ["--import", COMPILE_CACHE_PRELOAD, SERVER_ENTRY];

/**
 * The environment of a local cluster that a test, script or benchmark runs: nodes in
 * `namespace` on `transporter`, sharing one PostgreSQL database (migrated beforehand), with an
 * in-memory cache, no metrics port and JSON logs at warn level; `extra` adds or overrides.
 */
export function localClusterEnv(
  cluster: { namespace: string; transporter: string; databaseUrl: string },
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: "test",
    NAMESPACE: cluster.namespace,
    TRANSPORTER: cluster.transporter,
    DATABASE_URL: cluster.databaseUrl,
    MIGRATE_ON_START: "false",
    CACHER: "memory",
    METRICS: "false",
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
    ...extra,
  };
}

/** Start one node as its own process (the Node running this code runs it too). */
export function spawnNode(spec: NodeSpec, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, SERVER_ARGS, {
    env: { ...env, NODE_ID: spec.id, SERVICES: spec.services },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** A node started by `spawnNode`, with everything it has printed so far (stdout and stderr, in order). */
export interface CapturedNode {
  child: ChildProcess;
  output: string[];
}

/** `spawnNode`, keeping the node's output (for a test or script to show when something fails). */
export function spawnCaptured(spec: NodeSpec, env: NodeJS.ProcessEnv): CapturedNode {
  const child = spawnNode(spec, env);
  const output: string[] = [];
  child.stdout!.on("data", (d) => output.push(String(d)));
  child.stderr!.on("data", (d) => output.push(String(d)));
  return { child, output };
}

/** Resolves with the exit code once the process has ended. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}
