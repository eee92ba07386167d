/**
 * npm run test:postman
 *
 * Runs the Postman collection (docs/postman) with newman against a fresh cluster: a new
 * PostgreSQL database, migrated; the local topology of scripts/support/cluster.ts as real processes
 * (gateway, users, products ×2, orders ×2, mail, storage with a local folder) over RabbitMQ
 * in a namespace of its own; a superuser made with `users.createSuperuser` through a client
 * broker. newman's working directory is docs/postman, where the uploads' fixture files are
 * (`fixtures/…`, the same relative paths the Postman app resolves against its working
 * directory), and it reads no file outside it. Then it stops the nodes, drops the database
 * and the namespace's durable queues, and exits 1 on any failure, or when a route group
 * (tag) of the cluster's OpenAPI document has no request in the collection.
 *
 * test/e2e/postman.test.ts runs the same function under jest. Servers: TEST_DATABASE_URL
 * (a database to connect to for CREATE/DROP DATABASE) and TEST_AMQP_URL, as for the tests.
 */
import { freePort } from "./support/free-port.ts";
import os from "node:os";
import path from "node:path";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { randomBytes } from "node:crypto";
import { ServiceBroker } from "moleculer";
import { LOCAL_CLUSTER, localClusterEnv, spawnCaptured, exited, type CapturedNode } from "./support/cluster.ts";
import { loadConfig } from "../lib/config.ts";
import { migrateUp } from "../integrations/database/migrator.ts";
import { deleteShopTopology } from "../integrations/messaging/durable-events.ts";
import { amqpTransporter } from "../moleculer.config.ts";
import { createScratchDatabase } from "./support/scratch-database.ts";
import { until } from "./support/until.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const COLLECTION = path.join(ROOT, "docs/postman/shop.postman_collection.json");
export const ENVIRONMENT = path.join(ROOT, "docs/postman/local.postman_environment.json");
/** newman's working directory: file paths in the collection (`fixtures/mug.png`) are relative to it. */
export const WORKING_DIR = path.dirname(COLLECTION);

export interface PostmanFailure {
  /** The folder/request and the assertion (or error) that failed. */
  where: string;
  message: string;
}

export interface PostmanResult {
  requests: { total: number; failed: number };
  assertions: { total: number; failed: number };
  failures: PostmanFailure[];
  /** Each node's output (stdout and stderr), for a failed run. */
  nodeOutput: Record<string, string>;
  /** GET /api/openapi.json of the cluster, fetched before the run. */
  openapi: OpenApiDocument;
  /** The path of the gateway's base URL ("/api"): the OpenAPI paths start with it, the collection's `{{baseUrl}}` ends with it. */
  basePath: string;
}

/** The parts of the OpenAPI document the coverage check reads. */
export interface OpenApiDocument {
  tags?: { name: string }[];
  paths: Record<string, Record<string, { tags?: string[] }>>;
}

/** A request of a Postman collection (v2.1), with its folder trail. */
export interface CollectionItem {
  name: string;
  item?: CollectionItem[];
  request?: { method: string; url: string | { raw: string } };
  event?: { listen: string; script: { exec: string[] } }[];
}

export function collectionRequests(items: CollectionItem[], trail: string[] = []): { path: string; item: CollectionItem }[] {
  return items.flatMap((i) =>
    i.item ? collectionRequests(i.item, [...trail, i.name]) : [{ path: [...trail, i.name].join(" › "), item: i }],
  );
}

export interface RouteGroupCoverage {
  /** Every tag (route group) of the document → the collection's requests in it. */
  byTag: Record<string, string[]>;
  /** Tags without a single request: the collection does not cover them. */
  uncovered: string[];
  /** Requests to `{{baseUrl}}` that match no operation of the document (a stale or mistyped route). */
  unmatched: string[];
}

/**
 * Which route groups (OpenAPI tags: one per service, "api" for the gateway's own routes) the
 * collection exercises. A request matches an operation by method and path: `{{var}}` segments
 * stand for path parameters. Requests to whole-URL variables (a presigned `{{uploadUrl}}`) are
 * not under `{{baseUrl}}` and are not matched. Group level on purpose: a new route in a covered
 * group needs no new request; a new group (service) does.
 */
export function routeGroupCoverage(items: CollectionItem[], openapi: OpenApiDocument, basePath: string): RouteGroupCoverage {
  const operations = Object.entries(openapi.paths).flatMap(([p, ops]) => {
    const relative = p.startsWith(`${basePath}/`) ? p.slice(basePath.length) : p;
    return Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      segments: relative.split("/").filter(Boolean),
      tags: op.tags ?? [],
    }));
  });
  const byTag: Record<string, string[]> = {};
  for (const t of [...(openapi.tags ?? []).map((tag) => tag.name), ...operations.flatMap((o) => o.tags)]) byTag[t] ??= [];
  const unmatched: string[] = [];
  for (const { path: name, item } of collectionRequests(items)) {
    const raw = typeof item.request!.url === "string" ? item.request!.url : item.request!.url.raw;
    if (!raw.startsWith("{{baseUrl}}")) continue;
    const segments = raw.slice("{{baseUrl}}".length).split(/[?#]/)[0]!.split("/").filter(Boolean);
    const method = item.request!.method.toUpperCase();
    const fits = (op: (typeof operations)[number]) =>
      op.method === method &&
      op.segments.length === segments.length &&
      op.segments.every((s, i) => /^\{.+\}$/.test(s) || s === segments[i]);
    // The most literal match wins (`/files/presign` over `/files/{id}`).
    const match = operations.filter(fits).toSorted((a, b) => literal(b.segments) - literal(a.segments))[0];
    if (!match) unmatched.push(`${method} ${raw} (${name})`);
    else for (const t of match.tags) (byTag[t] ??= []).push(name);
  }
  return {
    byTag,
    uncovered: Object.keys(byTag)
      .filter((t) => byTag[t]!.length === 0)
      .toSorted(),
    unmatched,
  };
}

const literal = (segments: string[]) => segments.filter((s) => !s.startsWith("{")).length;

export interface PostmanOptions {
  /** newman reporters: ["cli"] on a terminal, [] under jest. */
  reporters?: string[];
  /** Progress lines ("starting the cluster", …). */
  log?: (line: string) => void;
}

/** The parts of newman's Node API used here (it ships no types). */
interface NewmanSummary {
  run: {
    stats: Record<"requests" | "assertions", { total: number; failed: number }>;
    failures: { error: { name?: string; message: string; test?: string }; source?: { name?: string }; parent?: { name?: string } }[];
  };
}
type NewmanRun = (options: Record<string, unknown>, callback: (err: Error | null, summary: NewmanSummary) => void) => unknown;

function newman(
  collection: string,
  environment: string,
  envVar: { key: string; value: string }[],
  reporters: string[],
): Promise<NewmanSummary> {
  const run = (createRequire(import.meta.url)("newman") as { run: NewmanRun }).run;
  return new Promise((resolve, reject) => {
    run(
      // The uploads' files resolve against workingDir, and nothing outside it is read (as in the Postman app).
      { collection, environment, envVar, reporters, workingDir: WORKING_DIR, insecureFileRead: false, timeoutRequest: 30_000, bail: false },
      (err, summary) => (err ? reject(err) : resolve(summary)),
    );
  });
}

/** Start a fresh cluster, run the collection against it, tear everything down. Never throws for a failed request: see `failures`. */
export async function runPostmanAgainstFreshCluster(opts: PostmanOptions = {}): Promise<PostmanResult> {
  const log = opts.log ?? (() => {});
  const amqp = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
  const namespace = `postman-${randomBytes(4).toString("hex")}`;
  const scratch = mkdtempSync(path.join(os.tmpdir(), "shop-postman-"));
  const nodes = new Map<string, CapturedNode>();
  let client: ServiceBroker | undefined;

  log(`Creating a database and migrating it…`);
  const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const db = await createScratchDatabase(adminUrl, `shop_postman_${randomBytes(4).toString("hex")}`);
  try {
    const port = await freePort();
    const env = localClusterEnv(
      { namespace, transporter: amqp, databaseUrl: db.url },
      {
        PORT: String(port),
        HOST: "127.0.0.1",
        // Where clients reach the gateway: the local store's presigned URLs point here.
        APP_URL: `http://127.0.0.1:${port}`,
        MAIL_OUTBOX_DIR: path.join(scratch, "outbox"),
        SMS_OUTBOX_DIR: path.join(scratch, "sms-outbox"),
        STORAGE_DIR: path.join(scratch, "files"),
      },
    );
    const config = loadConfig(env);
    await migrateUp(config.database);
    const api = `http://127.0.0.1:${config.http.port}/api`;

    try {
      log(`Starting ${LOCAL_CLUSTER.length} nodes (${LOCAL_CLUSTER.map((n) => n.id).join(", ")}) in namespace ${namespace}…`);
      for (const spec of LOCAL_CLUSTER) {
        nodes.set(spec.id, spawnCaptured(spec, env));
      }
      client = new ServiceBroker({
        namespace,
        nodeID: `postman-client-${process.pid}`,
        transporter: amqpTransporter(amqp, 10),
        logger: false,
      });
      await client.start();
      // Every service routed and answering (the collection walks through all of them), not just ready.
      await until(
        "every service to be ready",
        async () => ((await (await fetch(`${api}/health/ready`)).json()) as { status?: string }).status === "ok",
        {
          timeoutMs: 60_000,
          intervalMs: 250,
        },
      );
      await client.waitForServices(["users"], 30_000);
      const docs = await fetch(`${api}/openapi.json`);
      if (!docs.ok) throw new Error(`GET ${api}/openapi.json answered ${docs.status}`);
      const openapi = (await docs.json()) as OpenApiDocument;

      const admin = {
        email: `postman-admin-${randomBytes(4).toString("hex")}@example.com`,
        password: `correct horse battery ${randomBytes(9).toString("base64url")}`,
      };
      await client.call("users.createSuperuser", { ...admin, name: "Postman Admin" });
      log(`Gateway ready at ${api}; superuser ${admin.email} created. Running the collection…`);

      const summary = await newman(
        COLLECTION,
        ENVIRONMENT,
        [
          { key: "baseUrl", value: api },
          { key: "adminEmail", value: admin.email },
          { key: "adminPassword", value: admin.password },
        ],
        opts.reporters ?? ["cli"],
      );
      const { requests, assertions } = summary.run.stats;
      return {
        requests: { total: requests.total, failed: requests.failed },
        assertions: { total: assertions.total, failed: assertions.failed },
        failures: summary.run.failures.map((f) => ({
          where: [f.parent?.name, f.source?.name, f.error.test].filter(Boolean).join(" › "),
          message: `${f.error.name ?? "Error"}: ${f.error.message}`,
        })),
        nodeOutput: Object.fromEntries([...nodes].map(([id, n]) => [id, n.output.join("")])),
        openapi,
        basePath: new URL(api).pathname,
      };
    } finally {
      log("Stopping the cluster…");
      await client?.stop().catch(() => undefined);
      for (const { child } of nodes.values()) child.kill("SIGTERM");
      await Promise.all([...nodes.values()].map(({ child }) => exited(child)));
      await deleteShopTopology(amqp, namespace, config).catch(() => undefined);
    }
  } finally {
    await db.drop();
    rmSync(scratch, { recursive: true, force: true });
    log(`Dropped database ${db.name}.`);
  }
}

async function main() {
  const result = await runPostmanAgainstFreshCluster({ log: (line) => console.log(`== ${line}`) });
  const { requests, assertions, failures } = result;
  console.log(`== ${requests.total} requests (${requests.failed} failed), ${assertions.total} assertions (${assertions.failed} failed)`);
  const collection = JSON.parse(readFileSync(COLLECTION, "utf8")) as CollectionItem;
  const coverage = routeGroupCoverage(collection.item ?? [], result.openapi, result.basePath);
  console.log(
    `== Route groups (OpenAPI tags): ${Object.entries(coverage.byTag)
      .map(([tag, reqs]) => `${tag} ${reqs.length}`)
      .join(", ")}`,
  );
  if (failures.length || assertions.total === 0 || coverage.uncovered.length || coverage.unmatched.length) {
    for (const f of failures) console.error(`!! ${f.where}: ${f.message}`);
    for (const tag of coverage.uncovered)
      console.error(`!! No request in the collection for the route group "${tag}" of the OpenAPI document.`);
    for (const r of coverage.unmatched) console.error(`!! ${r}: no such route in the OpenAPI document.`);
    for (const [id, output] of Object.entries(result.nodeOutput)) if (output.trim()) console.error(`--- ${id}\n${output.slice(-4000)}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error("The Postman run could not start:", err);
    process.exitCode = 1;
  });
}
