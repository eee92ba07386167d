/**
 * storage over HTTP on real PostgreSQL and a real S3 API (s3rver): multipart uploads streamed
 * through the gateway, downloads (302 to a presigned URL, or streamed), presigned PUT +
 * complete with plain fetch, the size limit (413, no half object), type checks (415),
 * ownership (401/404), listing, deletion and the sweeper. The same round trip on the
 * local-folder driver with its HMAC-signed URLs, and in the embedded default (SQLite).
 * Then the gateway and the storage service as two processes over RabbitMQ: a 50 MiB upload
 * streams across the nodes while each node's memory is watched; and the transit
 * backpressure middleware against a deliberately slow consumer.
 *
 * In-process setups each run in a module registry of their own (jest.isolateModulesAsync):
 * the configuration is read once per registry, and each needs another one.
 *
 * Knobs: STORAGE_TEST_LOG=1 shows the nodes' logs; for the two-process suite,
 * STORAGE_TEST_SERIALIZER (e.g. JSONExt) and STORAGE_TEST_NO_BACKPRESSURE=1 compare setups.
 */
import net from "node:net";
import { freePort } from "../../scripts/support/free-port.ts";
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import http from "node:http";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { jest } from "@jest/globals";
import { createRequire } from "node:module";
import { S3Client, ListObjectsV2Command, HeadObjectCommand } from "@aws-sdk/client-s3";
import type { ServiceBroker, ServiceSchema } from "moleculer";
import { describeWithServers } from "../support/servers.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { http as rawHttp } from "../support/node.ts";
import { shopClient, type ShopTarget } from "../support/shop-client.ts";
import { until } from "../../scripts/support/until.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";

/** s3rver ships no types: the part of its API this file uses. */
interface S3rverServer {
  /** Koa's middleware list: composed when the server starts. */
  middleware: unknown[];
  run(): Promise<net.AddressInfo>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)("s3rver") as new (opts: Record<string, unknown>) => S3rverServer;

const SHOP_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const AMQP = process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const MiB = 1024 * 1024;

// Minimal valid-looking heads of the formats the storage service recognises.
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
const PDF = Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "latin1");

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const png = (size: number) => Buffer.concat([PNG, randomBytes(Math.max(0, size - PNG.length))]);

/**
 * An S3 API on a free port, in a temporary folder, with one bucket. s3rver 3.7 implements
 * multipart uploads but not AbortMultipartUpload: a small shim in front of it does what S3
 * does (drop the upload's parts), so the abort path runs and its result can be checked on disk.
 */
async function startS3(bucket: string) {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), "s3rver-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const uploadsDir = path.join(directory, bucket, "._S3rver_uploads");
  server.middleware.unshift(async (ctx: any, next: () => Promise<void>) => {
    const uploadId = ctx.query.uploadId;
    if (ctx.method !== "DELETE" || typeof uploadId !== "string" || !/^[0-9a-f]+$/.test(uploadId)) return next();
    const dir = path.join(uploadsDir, uploadId);
    if (!fs.existsSync(dir)) {
      ctx.status = 404;
      ctx.type = "application/xml";
      ctx.body =
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code>` +
        `<Message>The specified upload does not exist.</Message></Error>`;
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
    abortedUploads++;
    ctx.status = 204;
  });
  let abortedUploads = 0;
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  return {
    endpoint,
    client,
    get abortedUploads() {
      return abortedUploads;
    },
    async keys(): Promise<string[]> {
      const out = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (out.Contents ?? []).map((o) => o.Key!).sort();
    },
    /** Multipart uploads neither completed nor aborted (their parts are on disk). */
    async unfinishedUploads(): Promise<number> {
      return fs.existsSync(uploadsDir) ? fs.readdirSync(uploadsDir).length : 0;
    },
    async stop() {
      client.destroy();
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

interface Shop {
  api: string;
  /** The broker that runs the gateway, users and storage. */
  broker: ServiceBroker;
  events: { event: string; payload: any }[];
  stop(): Promise<void>;
}

/**
 * One broker with the gateway, users and storage, in a module registry of its own so that
 * `env` is the configuration it reads (kept in process.env while it runs: the AWS SDK reads
 * its credentials lazily).
 */
async function startShop(env: Record<string, string>): Promise<Shop> {
  let shop: Shop | undefined;
  const settings: Record<string, string> = {
    HOST: "127.0.0.1",
    METRICS: "false",
    CACHER: "memory",
    RATE_LIMIT_FACTOR: "100",
    SERVICES: "api,users,storage",
    ...env,
  };
  const saved = Object.fromEntries(Object.keys(settings).map((k) => [k, process.env[k]]));
  await jest.isolateModulesAsync(async () => {
    Object.assign(process.env, settings);
    const { getConfig } = await import("../../lib/config.ts");
    const { createBroker } = await import("../../broker.ts");
    const events: Shop["events"] = [];
    const broker = await createBroker(getConfig(), { logger: process.env.STORAGE_TEST_LOG ? undefined : false });
    broker.createService({
      name: "file-events",
      events: {
        "files.*"(ctx: any) {
          events.push({ event: ctx.eventName, payload: ctx.params });
        },
      },
    } as ServiceSchema);
    await broker.start();
    const port = (broker.getLocalService("api") as unknown as { server: { address(): net.AddressInfo } }).server.address().port;
    const api = `http://127.0.0.1:${port}/api`;
    // The routes are generated once the gateway has seen each service (20 ms after it registers):
    // storage may be routed before users, whose routes every test needs as well.
    await until(
      "storage and users routes",
      async () => (await rawHttp(`${api}/files`)).status === 401 && (await rawHttp(`${api}/users/me`)).status === 401,
    );
    shop = {
      api,
      broker,
      events,
      async stop() {
        await broker.stop();
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      },
    };
  });
  return shop!;
}

/** The shop client (test/support/shop-client.ts) against one running setup, with uploads and downloads. */
function client(shop: ShopTarget) {
  const base = shopClient(shop);
  const { as } = base;
  return {
    ...base,
    /** multipart/form-data upload of one in-memory file, built by fetch. */
    upload(token: string | null, bytes: Buffer, type: string, filename = "picture.png") {
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(bytes)], { type }), filename);
      return base.http("/files", { method: "POST", headers: token ? as(token) : {}, body: form });
    },
    /** The bytes of a response, without following redirects unless asked. */
    async download(url: string, headers: Record<string, string> = {}, redirect: "manual" | "follow" = "manual") {
      const res = await fetch(url, { headers, redirect });
      return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
    },
  };
}

/**
 * A multipart upload streamed with node:http, the file generated chunk by chunk (never whole
 * in this process); returns the response and the SHA-256 of what was sent.
 */
function streamUpload(api: string, token: string, size: number, type = "image/png", onProgress?: (sent: number) => void) {
  const boundary = `----shop${randomBytes(8).toString("hex")}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: ${type}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const hash = createHash("sha256");
  return new Promise<{ status: number; body: any; sha256: string }>((resolve, reject) => {
    const req = http.request(`${api}/files`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": `multipart/form-data; boundary=${boundary}`,
        "content-length": head.length + size + tail.length,
      },
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString() || "null"), sha256: hash.digest("hex") }),
      );
    });
    req.on("error", reject);
    req.write(head);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(64 * 1024, size - sent);
        const chunk = sent === 0 ? Buffer.concat([PNG, randomBytes(n - PNG.length)]) : randomBytes(n);
        hash.update(chunk);
        sent += n;
        onProgress?.(sent);
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      req.end(tail);
    };
    pump();
  });
}

const suite = await describeWithServers("postgres");
const clusterSuite = await describeWithServers("postgres", "rabbitmq");

suite("storage on S3 (s3rver), one node", () => {
  const bucket = "shop-files";
  const MAX = 8 * MiB; // above one S3 part (5 MiB): large uploads go multipart
  let db: TestDatabase;
  let s3: Awaited<ReturnType<typeof startS3>>;
  /** The node reaches S3 through it, so that S3 can go away; clients reach S3 directly. */
  let s3Link: TcpProxy;
  let shop: Shop;
  let c: ReturnType<typeof client>;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  let admin: string;
  const publicEndpoint = () => s3.endpoint.replace("//127.0.0.1:", "//localhost:");

  beforeAll(async () => {
    db = await createTestDatabase("storage");
    const { migrateUp } = await import("../../integrations/database/migrator.ts");
    const { loadConfig } = await import("../../lib/config.ts");
    await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
    s3 = await startS3(bucket);
    s3Link = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(s3.endpoint).port) });
    shop = await startShop({
      PORT: "0",
      DATABASE_URL: db.url,
      S3_BUCKET: bucket,
      S3_ENDPOINT: `http://127.0.0.1:${s3Link.port}`,
      // Clients reach S3 under another name than the nodes (compose: localhost vs minio).
      S3_PUBLIC_ENDPOINT: publicEndpoint(),
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      UPLOAD_MAX_BYTES: String(MAX),
    });
    c = client(shop);
    alice = await c.shopper("alice");
    bob = await c.shopper("bob");
    admin = (await c.superuser()).token;
  }, 60_000);

  afterAll(async () => {
    await shop?.stop();
    await s3Link?.close();
    await s3?.stop();
    await db?.drop();
  });

  const pendingRows = async () =>
    (
      await shop.broker.call<any, any>(
        "storage.list",
        { status: "pending", pageSize: 100 },
        { meta: { user: { id: randomUUID(), role: "admin" } } },
      )
    ).total;

  test("upload → 201 metadata; the bytes and their SHA-256 come back through a presigned redirect", async () => {
    const bytes = png(200_000);
    const res = await c.upload(alice.token, bytes, "image/png", "../../etc/holiday\u202Egnp.exe.png");
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      ownerId: alice.id,
      filename: "holidaygnp.exe.png",
      contentType: "image/png",
      size: bytes.length,
      sha256: sha256(bytes),
      public: false,
      createdAt: expect.any(String),
    });
    expect(res.headers.get("location")).toBe(`/api/files/${res.body.id}`);
    expect(shop.events).toContainEqual({ event: "files.ready", payload: { file: expect.objectContaining({ id: res.body.id }) } });

    // GET answers 302 to a short-lived presigned S3 URL; plain fetch gets the bytes there.
    const redirect = await c.download(`${shop.api}/files/${res.body.id}`, c.as(alice.token));
    expect(redirect.status).toBe(302);
    const location = redirect.headers.get("location")!;
    expect(location.startsWith(`${publicEndpoint()}/${bucket}/files/${res.body.id}?`)).toBe(true);
    expect(location).toMatch(/X-Amz-Expires=60\b/);
    const direct = await c.download(location);
    expect(direct.status).toBe(200);
    expect(sha256(direct.body)).toBe(sha256(bytes));
    expect(direct.headers.get("content-type")).toBe("image/png");
    expect(direct.headers.get("content-disposition")).toContain("holidaygnp.exe.png");

    // fetch following the redirect (it drops the Authorization header on the way to S3).
    const followed = await c.download(`${shop.api}/files/${res.body.id}`, c.as(alice.token), "follow");
    expect(followed.body.equals(bytes)).toBe(true);

    // ?redirect=false streams the content through the gateway instead.
    const streamed = await c.download(`${shop.api}/files/${res.body.id}?redirect=false`, c.as(alice.token));
    expect(streamed.status).toBe(200);
    expect(streamed.body.equals(bytes)).toBe(true);
    expect(streamed.headers.get("content-type")).toBe("image/png");
    expect(streamed.headers.get("content-length")).toBe(String(bytes.length));
    expect(streamed.headers.get("content-disposition")).toMatch(/^attachment; filename="holidaygnp\.exe\.png"/);
    expect(streamed.headers.get("x-content-type-options")).toBe("nosniff");
    expect(streamed.headers.get("repr-digest")).toBe(`sha-256=:${createHash("sha256").update(bytes).digest("base64")}:`);
  });

  test("a file larger than one S3 part goes up as a multipart upload, streamed", async () => {
    const bytes = png(6 * MiB + 123);
    const res = await c.upload(alice.token, bytes, "image/png", "big.png");
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ size: bytes.length, sha256: sha256(bytes) });
    const back = await c.download(`${shop.api}/files/${res.body.id}`, c.as(alice.token), "follow");
    expect(sha256(back.body)).toBe(sha256(bytes));
    expect(await s3.unfinishedUploads()).toBe(0);
  });

  test("exactly UPLOAD_MAX_BYTES is fine; one byte more → 413 JSON, no object, no multipart upload, no row", async () => {
    const ok = await c.upload(bob.token, png(MAX), "image/png", "max.png");
    expect(ok.status).toBe(201);
    const before = await s3.keys();
    const rowsBefore = await pendingRows();
    const abortedBefore = s3.abortedUploads;

    const res = await c.upload(bob.token, png(MAX + 1), "image/png", "too-big.png");
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      name: "MoleculerClientError",
      message: `The file is larger than the limit of ${MAX} bytes.`,
      code: 413,
      type: "PAYLOAD_TOO_LARGE",
      data: { maxBytes: MAX },
    });
    // The storage side aborts on the stream's error, right after the gateway answered.
    // (8 MiB went through before the limit struck: its first part had started a multipart upload.)
    await until(
      "the aborted upload to be cleaned up",
      async () => s3.abortedUploads > abortedBefore && (await s3.unfinishedUploads()) === 0 && (await pendingRows()) === rowsBefore,
    );
    expect(await s3.keys()).toEqual(before);
    const mine = (await c.http("/files?pageSize=100", { headers: c.as(bob.token) })).body.rows.map((f: any) => f.filename);
    expect(mine).not.toContain("too-big.png");
  });

  test("415: a type that is not allowed, content that is not what it claims; a generic type is sniffed", async () => {
    const html = await c.upload(alice.token, Buffer.from("<html><script>alert(1)</script></html>"), "text/html", "x.html");
    expect(html).toMatchObject({ status: 415, body: { code: 415, type: "UNSUPPORTED_MEDIA_TYPE", data: { declared: "text/html" } } });
    const fakePng = await c.upload(alice.token, Buffer.from("#!/bin/sh\nrm -rf /\n".repeat(10)), "image/png", "x.png");
    expect(fakePng).toMatchObject({
      status: 415,
      body: { type: "UNSUPPORTED_MEDIA_TYPE", data: { declared: "image/png", detected: null } },
    });
    const pngAsText = await c.upload(alice.token, png(1000), "text/plain", "x.txt");
    expect(pngAsText).toMatchObject({ status: 415, body: { data: { declared: "text/plain", detected: "image/png" } } });
    const generic = await c.upload(alice.token, Buffer.concat([PDF, randomBytes(500)]), "application/octet-stream", "doc.pdf");
    expect(generic).toMatchObject({ status: 201, body: { contentType: "application/pdf" } });
    const text = await c.upload(alice.token, Buffer.from("plain words\n"), "text/plain; charset=utf-8", "notes.txt");
    expect(text).toMatchObject({ status: 201, body: { contentType: "text/plain", size: 12 } });
    // Not multipart at all.
    const json = await c.http("/files", { method: "POST", headers: c.as(alice.token), json: { file: "x" } });
    expect(json).toMatchObject({ status: 415, body: { type: "UNSUPPORTED_MEDIA_TYPE" } });
  });

  test(`401 without credentials on every route but downloads (a private file is a 404 then); \
others get 404; admins see everything`, async () => {
    const mine = (await c.upload(alice.token, png(1000), "image/png", "private.png")).body;
    // Downloads are open to anyone for public files (product images, avatars: test/integration/images.test.ts).
    expect((await c.http(`/files/${mine.id}`)).status).toBe(404);
    for (const [method, p] of [
      ["GET", "/files"],
      ["DELETE", `/files/${mine.id}`],
      ["POST", "/files/presign"],
      ["POST", `/files/${mine.id}/complete`],
    ] as const) {
      const res = await c.http(p, { method, ...(method === "POST" ? { json: {} } : {}) });
      expect([method, p, res.status]).toEqual([method, p, 401]);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
    }
    const anonymous = await c.upload(null, png(1000), "image/png");
    expect(anonymous.status).toBe(401);

    expect((await c.http(`/files/${mine.id}`, { headers: c.as(bob.token) })).status).toBe(404);
    expect((await c.http(`/files/${mine.id}`, { method: "DELETE", headers: c.as(bob.token) })).status).toBe(404);
    expect((await c.http(`/files/${mine.id}/complete`, { method: "POST", headers: c.as(bob.token) })).status).toBe(404);
    expect((await c.http(`/files/not-a-uuid`, { headers: c.as(bob.token) })).status).toBe(404);
    expect((await c.http("/files?pageSize=100", { headers: c.as(bob.token) })).body.rows.map((f: any) => f.id)).not.toContain(mine.id);

    expect((await c.http(`/files/${mine.id}`, { headers: c.as(admin), redirect: "manual" })).status).toBe(302);
    const all = await c.http(`/files?ownerId=${alice.id}&pageSize=100`, { headers: c.as(admin) });
    expect(all.body.rows.map((f: any) => f.id)).toContain(mine.id);
  });

  test("the list is the caller's ready files, paginated, newest first", async () => {
    const carol = await c.shopper("carol");
    const ids: string[] = [];
    for (const name of ["a.png", "b.png", "c.png"]) ids.push((await c.upload(carol.token, png(500), "image/png", name)).body.id);
    const page1 = await c.http("/files?pageSize=2", { headers: c.as(carol.token) });
    expect(page1.body).toMatchObject({ total: 3, page: 1, pageSize: 2, totalPages: 2 });
    expect(page1.body.rows.map((f: any) => f.filename)).toEqual(["c.png", "b.png"]);
    expect(Object.keys(page1.body.rows[0]).sort()).toEqual([
      "contentType",
      "createdAt",
      "filename",
      "id",
      "ownerId",
      "public",
      "sha256",
      "size",
    ]);
    const page2 = await c.http("/files?pageSize=2&page=2&sort=filename", { headers: c.as(carol.token) });
    expect(page2.body.rows.map((f: any) => f.filename)).toEqual(["c.png"]);
    expect((await c.http("/files?sort=key", { headers: c.as(carol.token) })).status).toBe(422);
  });

  test("DELETE → 204: the object and the row are gone, files.removed goes out", async () => {
    const file = (await c.upload(alice.token, png(2000), "image/png", "gone.png")).body;
    expect(await s3.keys()).toContain(`files/${file.id}`);
    const res = await c.http(`/files/${file.id}`, { method: "DELETE", headers: c.as(alice.token) });
    expect(res.status).toBe(204);
    expect(await s3.keys()).not.toContain(`files/${file.id}`);
    expect((await c.http(`/files/${file.id}`, { headers: c.as(alice.token) })).status).toBe(404);
    expect((await c.http(`/files/${file.id}`, { method: "DELETE", headers: c.as(alice.token) })).status).toBe(404);
    await until("files.removed", async () => shop.events.some((e) => e.event === "files.removed" && e.payload.file.id === file.id));
    // An admin may delete anyone's file.
    const other = (await c.upload(bob.token, png(2000), "image/png")).body;
    expect((await c.http(`/files/${other.id}`, { method: "DELETE", headers: c.as(admin) })).status).toBe(204);
  });

  test("downloads while their file is being deleted answer 200 or 404, never a 500", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const file = (await c.upload(alice.token, png(3000), "image/png", `racing-${i}.png`)).body;
      const readers = Array.from({ length: 4 }, () =>
        c.http(`/files/${file.id}?redirect=false`, { headers: c.as(alice.token) }).then((r) => r.status),
      );
      const deleted = c.http(`/files/${file.id}`, { method: "DELETE", headers: c.as(alice.token) });
      statuses.push(...(await Promise.all(readers)));
      expect((await deleted).status).toBe(204);
    }
    expect(statuses.filter((s) => s !== 200 && s !== 404)).toEqual([]);
  });

  test("presigned PUT with plain fetch, then complete: size, type and SHA-256 checked", async () => {
    const bytes = Buffer.concat([PDF, randomBytes(30_000)]);
    const presign = await c.http("/files/presign", {
      method: "POST",
      headers: c.as(alice.token),
      json: { filename: "invoice.pdf", contentType: "application/pdf", size: bytes.length },
    });
    expect(presign.status).toBe(201);
    expect(presign.body).toEqual({
      id: expect.any(String),
      url: expect.stringContaining(`${publicEndpoint()}/${bucket}/files/`),
      method: "PUT",
      headers: { "Content-Type": "application/pdf" },
      expiresAt: expect.any(String),
    });
    expect(Date.parse(presign.body.expiresAt) - Date.now()).toBeGreaterThan(200_000);
    const { id, url, headers } = presign.body;
    // Pending: not listed, not downloadable; completing before the PUT is a 409.
    expect((await c.http(`/files/${id}`, { headers: c.as(alice.token) })).status).toBe(404);
    expect((await c.http(`/files/${id}/complete`, { method: "POST", headers: c.as(alice.token) })).body.type).toBe("UPLOAD_MISSING");

    const put = await fetch(url, { method: "PUT", headers, body: new Uint8Array(bytes) });
    expect(put.status).toBe(200);
    expect((await c.http(`/files/${id}/complete`, { method: "POST", headers: c.as(bob.token) })).status).toBe(404);
    const done = await c.http(`/files/${id}/complete`, { method: "POST", headers: c.as(alice.token) });
    expect(done).toMatchObject({
      status: 200,
      body: { id, ownerId: alice.id, filename: "invoice.pdf", contentType: "application/pdf", size: bytes.length, sha256: sha256(bytes) },
    });
    // Completing again changes nothing.
    expect((await c.http(`/files/${id}/complete`, { method: "POST", headers: c.as(alice.token) })).body.sha256).toBe(sha256(bytes));
    const back = await c.download(`${shop.api}/files/${id}`, c.as(alice.token), "follow");
    expect(back.body.equals(bytes)).toBe(true);
  });

  test("presign refuses what an upload would (413, 415); complete refuses a wrong size or a wrong type", async () => {
    const big = await c.http("/files/presign", {
      method: "POST",
      headers: c.as(alice.token),
      json: { filename: "x.png", contentType: "image/png", size: MAX + 1 },
    });
    expect(big).toMatchObject({ status: 413, body: { type: "PAYLOAD_TOO_LARGE" } });
    const exe = await c.http("/files/presign", {
      method: "POST",
      headers: c.as(alice.token),
      json: { filename: "x.exe", contentType: "application/x-msdownload", size: 10 },
    });
    expect(exe).toMatchObject({ status: 415, body: { type: "UNSUPPORTED_MEDIA_TYPE" } });
    const noKey = await c.http("/files/presign", {
      method: "POST",
      headers: c.as(alice.token),
      json: { filename: "x.png", contentType: "image/png", size: 10, key: "files/mine" },
    });
    expect(noKey.status).toBe(422);

    // s3rver does not enforce the signed Content-Length (S3 does); complete checks it anyway.
    const short = (
      await c.http("/files/presign", {
        method: "POST",
        headers: c.as(alice.token),
        json: { filename: "s.png", contentType: "image/png", size: 1000 },
      })
    ).body;
    await fetch(short.url, { method: "PUT", headers: short.headers, body: new Uint8Array(png(999)) });
    const mismatch = await c.http(`/files/${short.id}/complete`, { method: "POST", headers: c.as(alice.token) });
    expect(mismatch).toMatchObject({ status: 409, body: { type: "UPLOAD_SIZE_MISMATCH", data: { expected: 1000, actual: 999 } } });
    expect(await s3.keys()).not.toContain(`files/${short.id}`);

    const fake = (
      await c.http("/files/presign", {
        method: "POST",
        headers: c.as(alice.token),
        json: { filename: "f.pdf", contentType: "application/pdf", size: 100 },
      })
    ).body;
    await fetch(fake.url, { method: "PUT", headers: fake.headers, body: new Uint8Array(Buffer.alloc(100, "A")) });
    const wrongType = await c.http(`/files/${fake.id}/complete`, { method: "POST", headers: c.as(alice.token) });
    expect(wrongType).toMatchObject({ status: 415, body: { data: { declared: "application/pdf", detected: null } } });
    expect(await s3.keys()).not.toContain(`files/${fake.id}`);
  });

  test("S3 unreachable: uploads, streamed downloads and completions answer 503 with Retry-After, leave nothing behind", async () => {
    const kept = await c.upload(alice.token, png(1000), "image/png", "kept.png");
    expect(kept.status).toBe(201);
    // A presigned upload whose bytes reached S3 (clients reach it directly), not yet completed.
    const bytes = png(1000);
    const presign = await c.http("/files/presign", {
      method: "POST",
      headers: c.as(alice.token),
      json: { filename: "later.png", contentType: "image/png", size: bytes.length },
    });
    expect(presign.status).toBe(201);
    expect((await fetch(presign.body.url, { method: "PUT", headers: presign.body.headers, body: new Uint8Array(bytes) })).status).toBe(200);
    const rowsBefore = await pendingRows();
    const keysBefore = await s3.keys();
    s3Link.cut();
    try {
      const outcomes = {
        upload: await c.upload(alice.token, png(1000), "image/png", "down.png"),
        download: await c.http(`/files/${kept.body.id}?redirect=false`, { headers: c.as(alice.token) }),
        complete: await c.http(`/files/${presign.body.id}/complete`, { method: "POST", headers: c.as(alice.token) }),
      };
      // Before: 500 for each (the upload's logged as "Storing an upload failed").
      for (const [what, res] of Object.entries(outcomes)) {
        expect({ what, status: res.status, type: res.body?.type, retryAfter: res.headers.get("retry-after") }).toEqual({
          what,
          status: 503,
          type: "STORAGE_UNAVAILABLE",
          retryAfter: "5",
        });
      }
    } finally {
      s3Link.restore();
    }
    expect(await pendingRows()).toBe(rowsBefore);
    expect(await s3.keys()).toEqual(keysBefore);
    const done = await c.http(`/files/${presign.body.id}/complete`, { method: "POST", headers: c.as(alice.token) });
    expect(done).toMatchObject({ status: 200, body: { sha256: sha256(bytes) } });
    expect((await c.upload(alice.token, png(1000), "image/png", "back.png")).status).toBe(201);
  });

  test("a client that goes away mid-upload leaves neither an object nor a row", async () => {
    const rowsBefore = await pendingRows();
    const keysBefore = await s3.keys();
    await new Promise<void>((resolve) => {
      const boundary = "----abort";
      const req = http.request(`${shop.api}/files`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${alice.token}`,
          "content-type": `multipart/form-data; boundary=${boundary}`,
          "content-length": 7 * MiB,
        },
      });
      req.on("error", () => resolve());
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.png"\r\nContent-Type: image/png\r\n\r\n`);
      req.write(png(6 * MiB)); // more than one part: a multipart upload is under way
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
    await until(
      "the abandoned upload to be cleaned up",
      async () => (await s3.unfinishedUploads()) === 0 && (await pendingRows()) === rowsBefore,
      { timeoutMs: 20_000 },
    );
    expect(await s3.keys()).toEqual(keysBefore);
  });

  test("the sweeper removes abandoned pending files and their objects, and nothing else", async () => {
    const { STALE_PENDING_MS } = await import("../../services/storage.service.ts");
    const presign = async () =>
      (
        await c.http("/files/presign", {
          method: "POST",
          headers: c.as(alice.token),
          json: { filename: "later.png", contentType: "image/png", size: 100 },
        })
      ).body;
    const abandoned = await presign();
    await fetch(abandoned.url, { method: "PUT", headers: abandoned.headers, body: new Uint8Array(png(100)) });
    const recent = await presign();
    const db = (shop.broker.getLocalService("storage") as unknown as { adapter: { db: any } }).adapter.db;
    await db.query(`UPDATE files SET "updatedAt" = :at WHERE id = :id`, {
      replacements: { at: new Date(Date.now() - STALE_PENDING_MS - 1000), id: abandoned.id },
    });
    expect(await s3.keys()).toContain(`files/${abandoned.id}`);

    expect(await shop.broker.call("storage.sweep", {})).toEqual({ removed: 1 });
    expect(await s3.keys()).not.toContain(`files/${abandoned.id}`);
    expect((await c.http(`/files/${abandoned.id}/complete`, { method: "POST", headers: c.as(alice.token) })).status).toBe(404);
    expect((await c.http(`/files/${recent.id}/complete`, { method: "POST", headers: c.as(alice.token) })).body.type).toBe("UPLOAD_MISSING");
  });

  test("storage.describe gives other services the metadata of ready files", async () => {
    const a = (await c.upload(alice.token, png(300), "image/png", "a.png")).body;
    const b = (await c.upload(bob.token, png(300), "image/png", "b.png")).body;
    const described = async (params: object) => JSON.parse(JSON.stringify(await shop.broker.call("storage.describe", params)));
    expect(await described({ ids: [b.id, randomUUID(), a.id, "nope"] })).toEqual([b, a]);
    expect(await described({ ids: [a.id, b.id], ownerId: alice.id })).toEqual([a]);
    // Internal: not reachable over HTTP under any name.
    expect((await c.http("/files/describe", { headers: c.as(admin) })).status).toBe(404);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `files/${a.id}` }));
    expect(head.ContentType).toBe("image/png");
  });
});

suite("storage on the local folder driver", () => {
  const MAX = 64 * 1024;
  let db: TestDatabase;
  let dir: string;
  let shop: Shop;
  let c: ReturnType<typeof client>;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  beforeAll(async () => {
    db = await createTestDatabase("storage_local");
    const { migrateUp } = await import("../../integrations/database/migrator.ts");
    const { loadConfig } = await import("../../lib/config.ts");
    await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-files-"));
    // Signed URLs are absolute, on APP_URL: the port has to be known before the node starts.
    const port = await freePort();
    shop = await startShop({
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: db.url,
      S3_BUCKET: "",
      STORAGE_DIR: dir,
      UPLOAD_MAX_BYTES: String(MAX),
    });
    c = client(shop);
    alice = await c.shopper("alice");
    bob = await c.shopper("bob");
  }, 60_000);

  afterAll(async () => {
    await shop?.stop();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const filesOnDisk = () => (fs.existsSync(path.join(dir, "files")) ? fs.readdirSync(path.join(dir, "files")).sort() : []);

  test("upload → download streams the same bytes and SHA-256 from the folder", async () => {
    const bytes = png(50_000);
    const res = await c.upload(alice.token, bytes, "image/png", "photo.png");
    expect(res).toMatchObject({
      status: 201,
      body: { ownerId: alice.id, filename: "photo.png", contentType: "image/png", size: bytes.length, sha256: sha256(bytes) },
    });
    expect(filesOnDisk()).toEqual([res.body.id, `${res.body.id}~meta`]);
    const back = await c.download(`${shop.api}/files/${res.body.id}`, c.as(alice.token));
    expect(back.status).toBe(200);
    expect(back.body.equals(bytes)).toBe(true);
    expect(back.headers.get("content-type")).toBe("image/png");
    expect(back.headers.get("content-length")).toBe(String(bytes.length));
    expect((await c.http(`/files/${res.body.id}`, { headers: c.as(bob.token) })).status).toBe(404);
    expect((await c.http(`/files/${res.body.id}`, { method: "DELETE", headers: c.as(alice.token) })).status).toBe(204);
    expect(filesOnDisk()).toEqual([]);
  });

  test("413 above the limit, with no partial file left in the folder", async () => {
    const res = await c.upload(alice.token, png(MAX + 1), "image/png", "big.png");
    expect(res).toMatchObject({ status: 413, body: { type: "PAYLOAD_TOO_LARGE", data: { maxBytes: MAX } } });
    await until("the partial file to be removed", async () => filesOnDisk().length === 0);
    expect((await c.upload(alice.token, Buffer.from("GIF89a"), "image/png", "x.png")).status).toBe(415);
    expect((await c.upload(null, png(100), "image/png")).status).toBe(401);
  });

  test("presigned PUT and GET are HMAC-signed gateway URLs: plain fetch, then complete", async () => {
    const bytes = Buffer.concat([PDF, randomBytes(20_000)]);
    const presign = await c.http("/files/presign", {
      method: "POST",
      headers: c.as(alice.token),
      json: { filename: "scan.pdf", contentType: "application/pdf", size: bytes.length },
    });
    expect(presign.status).toBe(201);
    const { id, url, headers, method } = presign.body;
    expect(url.startsWith(`${shop.api}/files/signed/`)).toBe(true);
    expect(method).toBe("PUT");

    // The signature covers the type, the length, the method and the expiry.
    const [base, token] = [url.slice(0, url.lastIndexOf("/") + 1), url.slice(url.lastIndexOf("/") + 1)];
    const [claims, sig] = token.split(".");
    const forged = JSON.parse(Buffer.from(claims, "base64url").toString());
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    for (const bad of [
      `${Buffer.from(JSON.stringify({ ...forged, n: 1 })).toString("base64url")}.${sig}`, // other claims
      `${claims}.${flip(sig, 5)}`, // another signature
      `${claims}.${flip(sig, sig.length - 1)}`, // the same signature, non-canonically encoded
    ]) {
      expect((await fetch(base + bad, { method: "PUT", headers, body: new Uint8Array(bytes) })).status).toBe(403);
    }
    expect((await fetch(url, { method: "PUT", headers: { "Content-Type": "image/png" }, body: new Uint8Array(bytes) })).status).toBe(403);
    expect((await fetch(url, { method: "PUT", headers, body: new Uint8Array(bytes.subarray(1)) })).status).toBe(403);
    expect((await fetch(url, { method: "GET" })).status).toBe(403);

    const put = await fetch(url, { method: "PUT", headers, body: new Uint8Array(bytes) });
    expect(put.status).toBe(200);
    const done = await c.http(`/files/${id}/complete`, { method: "POST", headers: c.as(alice.token) });
    expect(done).toMatchObject({ status: 200, body: { id, size: bytes.length, sha256: sha256(bytes), contentType: "application/pdf" } });
    // Once complete, the URL can no longer change the content.
    expect((await fetch(url, { method: "PUT", headers, body: new Uint8Array(bytes) })).status).toBe(409);
    const back = await c.download(`${shop.api}/files/${id}`, c.as(alice.token));
    expect(back.body.equals(bytes)).toBe(true);

    // The signed GET the store hands out to other services.
    const { LocalObjectStore } = await import("../../integrations/storage/index.ts");
    const store = (shop.broker.getLocalService("storage") as unknown as { store: InstanceType<typeof LocalObjectStore> }).store;
    const getUrl = await store.presignGet(`files/${id}`, 60, { filename: "scan.pdf", contentType: "application/pdf" });
    const signedGet = await c.download(getUrl);
    expect(signedGet.status).toBe(200);
    expect(signedGet.body.equals(bytes)).toBe(true);
    expect(signedGet.headers.get("content-disposition")).toContain('filename="scan.pdf"');
    expect((await fetch(getUrl, { method: "PUT", headers, body: new Uint8Array(bytes) })).status).toBe(403);
  });
});

describe("storage in the embedded default: SQLite and the local folder (no servers needed)", () => {
  let dir: string;
  let shop: Shop;
  let c: ReturnType<typeof client>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "shop-embedded-"));
    const sqlite = path.join(dir, "shop.sqlite");
    const { migrateUp } = await import("../../integrations/database/migrator.ts");
    const { loadConfig } = await import("../../lib/config.ts");
    await migrateUp(loadConfig({ SQLITE_PATH: sqlite }).database);
    const port = await freePort();
    shop = await startShop({
      PORT: String(port),
      APP_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: "",
      SQLITE_PATH: sqlite,
      STORAGE_DIR: path.join(dir, "files"),
    });
    c = client(shop);
  }, 60_000);

  afterAll(async () => {
    await shop?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("upload, list, download, presign + complete, sweep, delete", async () => {
    const alice = await c.shopper("alice");
    const bytes = png(5000);
    const up = await c.upload(alice.token, bytes, "image/png", "x.png");
    expect(up).toMatchObject({ status: 201, body: { size: 5000, sha256: sha256(bytes) } });
    expect((await c.http("/files", { headers: c.as(alice.token) })).body.total).toBe(1);
    expect((await c.download(`${shop.api}/files/${up.body.id}`, c.as(alice.token))).body.equals(bytes)).toBe(true);
    const p = (
      await c.http("/files/presign", {
        method: "POST",
        headers: c.as(alice.token),
        json: { filename: "a.txt", contentType: "text/plain", size: 5 },
      })
    ).body;
    expect((await fetch(p.url, { method: "PUT", headers: p.headers, body: "hello" })).status).toBe(200);
    expect(await c.http(`/files/${p.id}/complete`, { method: "POST", headers: c.as(alice.token) })).toMatchObject({
      status: 200,
      body: { size: 5, sha256: sha256(Buffer.from("hello")) },
    });
    expect(await shop.broker.call("storage.sweep", {})).toEqual({ removed: 0 });
    expect((await c.http(`/files/${up.body.id}`, { method: "DELETE", headers: c.as(alice.token) })).status).toBe(204);
  });
});

/**
 * A node of its own (a child process): the broker of broker.ts with the services in
 * SERVICES (TransitBackpressure off with STORAGE_TEST_NO_BACKPRESSURE=1), plus a memory
 * probe: `<nodeID>-probe.reset` takes a baseline after a full GC, `.report` returns the peaks
 * since: RSS and heap+buffers as sampled every 10 ms (garbage included) and the live
 * heap+buffers measured after a GC every 100 ms (what the node really holds on to). The nodes
 * run with --no-concurrent-array-buffer-sweeping: otherwise V8 frees the buffers a GC found
 * dead on a background thread, and arrayBuffers read right after the GC still counts them
 * (measured on the gateway mid-upload: up to 12 MiB after one GC, 0.1 MiB after a second one),
 * the more the faster the chunks go through.
 */
const NODE_SCRIPT = `
const root = process.env.SHOP_ROOT;
const { getConfig } = await import(root + "/lib/config.ts");
const { createBroker } = await import(root + "/broker.ts");
const { brokerOptions } = await import(root + "/moleculer.config.ts");
const config = getConfig();
const options = brokerOptions(config);
const broker = await createBroker(config, {
  nodeID: process.env.NODE_ID,
  middlewares: options.middlewares.filter((m) => !(process.env.STORAGE_TEST_NO_BACKPRESSURE && m.name === "TransitBackpressure")),
  ...(process.env.STORAGE_TEST_SERIALIZER ? { serializer: process.env.STORAGE_TEST_SERIALIZER } : {}),
});
let base, peak, live, timers = [];
const mem = () => process.memoryUsage();
const probe = {
  name: process.env.NODE_ID + "-probe",
  actions: {
    reset: { access: "internal", handler() {
      timers.forEach(clearInterval);
      globalThis.gc(); base = mem(); peak = { ...base }; live = base.heapUsed + base.arrayBuffers;
      timers = [
        setInterval(() => { const m = mem(); for (const k of ["rss", "heapUsed", "arrayBuffers"]) peak[k] = Math.max(peak[k], m[k]); }, 10),
        setInterval(() => { globalThis.gc(); const m = mem(); live = Math.max(live, m.heapUsed + m.arrayBuffers); }, 100),
      ];
      return { pid: process.pid };
    } },
    report: { access: "internal", handler() {
      timers.forEach(clearInterval); timers = [];
      return { rss: peak.rss - base.rss, heapAndBuffers: peak.heapUsed + peak.arrayBuffers - base.heapUsed - base.arrayBuffers, \
liveHeapAndBuffers: live - base.heapUsed - base.arrayBuffers };
    } },
  },
};
broker.createService(probe);
await broker.start();
console.log("NODE READY");
`;

interface ChildNode {
  nodeID: string;
  output: string[];
  child: ChildProcess;
}

function spawnShopNode(nodeID: string, env: Record<string, string>): Promise<ChildNode> {
  const child = spawn(
    process.execPath,
    ["--expose-gc", "--no-concurrent-array-buffer-sweeping", "--input-type=module", "-e", NODE_SCRIPT],
    {
      env: { ...process.env, ...env, NODE_ID: nodeID, SHOP_ROOT: SHOP_ROOT },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      output.push(String(d));
      if (String(d).includes("NODE READY")) resolve({ nodeID, output, child });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d) => output.push(String(d)));
    child.once("exit", (code) => reject(new Error(`${nodeID} exited (${code}):\n${output.join("")}`)));
  });
}

async function stopNode(node: ChildNode | undefined) {
  if (!node || node.child.exitCode !== null) return;
  const exited = new Promise((r) => node.child.once("exit", r));
  node.child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (node.child.exitCode === null) node.child.kill("SIGKILL");
}

clusterSuite("storage on another node (another process), over RabbitMQ", () => {
  const bucket = "shop-files";
  const SIZE = 50 * MiB;
  const namespace = `storage-${randomBytes(4).toString("hex")}`;
  let db: TestDatabase;
  let s3: Awaited<ReturnType<typeof startS3>>;
  let gateway: ChildNode;
  let storage: ChildNode;
  let probe: ServiceBroker;
  let api: string;
  let c: ReturnType<typeof client>;
  let alice: { id: string; token: string };

  beforeAll(async () => {
    db = await createTestDatabase("storage_amqp");
    const { migrateUp } = await import("../../integrations/database/migrator.ts");
    const { loadConfig } = await import("../../lib/config.ts");
    await migrateUp(loadConfig({ DATABASE_URL: db.url }).database);
    s3 = await startS3(bucket);
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api`;
    const env = {
      NODE_ENV: "test",
      LOG_LEVEL: process.env.STORAGE_TEST_LOG ? "info" : "warn",
      METRICS: "false",
      NAMESPACE: namespace,
      TRANSPORTER: AMQP,
      DATABASE_URL: db.url,
      CACHER: "memory",
      RATE_LIMIT_FACTOR: "100",
      PORT: String(port),
      HOST: "127.0.0.1",
      S3_BUCKET: bucket,
      S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      UPLOAD_MAX_BYTES: String(SIZE + MiB),
    };
    [gateway, storage] = await Promise.all([
      spawnShopNode(`gateway-${namespace}`, { ...env, SERVICES: "api,users" }),
      spawnShopNode(`storage-${namespace}`, { ...env, SERVICES: "storage" }),
    ]);
    const { ServiceBroker } = await import("moleculer");
    const { amqpTransporter } = await import("../../moleculer.config.ts");
    probe = new ServiceBroker({ namespace, nodeID: `probe-${namespace}`, transporter: amqpTransporter(AMQP, 10), logger: false });
    await probe.start();
    await probe.waitForServices(["storage", "users", `${gateway.nodeID}-probe`, `${storage.nodeID}-probe`], 30_000);
    await until("storage routes on the gateway", async () => (await rawHttp(`${api}/files`)).status === 401, { timeoutMs: 30_000 });
    c = client({ api });
    alice = await c.shopper("alice");
  }, 90_000);

  afterAll(async () => {
    await probe?.stop();
    await Promise.all([stopNode(gateway), stopNode(storage)]);
    const { deleteShopTopology } = await import("../../integrations/messaging/durable-events.ts");
    const { loadConfig } = await import("../../lib/config.ts");
    await deleteShopTopology(AMQP, namespace, loadConfig({})).catch(() => undefined);
    await s3?.stop();
    await db?.drop();
  }, 30_000);

  test("the gateway and the storage service run in different processes", async () => {
    const nodes = (await probe.call<any[], any>("$node.services", { onlyLocal: false, withActions: false })) as {
      name: string;
      nodes: string[];
    }[];
    const where = (name: string) => nodes.find((s) => s.name === name)?.nodes;
    expect(where("api")).toEqual([gateway.nodeID]);
    expect(where("storage")).toEqual([storage.nodeID]);
    expect(gateway.child.pid).not.toBe(storage.child.pid);
  });

  test("a 50 MiB upload streams through the gateway to the storage node and back, in bounded memory", async () => {
    // Warm up (connections, JIT), then measure from a baseline taken after a full GC.
    expect((await c.upload(alice.token, png(100_000), "image/png")).status).toBe(201);
    await Promise.all([probe.call(`${gateway.nodeID}-probe.reset`, {}), probe.call(`${storage.nodeID}-probe.reset`, {})]);
    const started = Date.now();
    const res = await streamUpload(api, alice.token, SIZE);
    const seconds = (Date.now() - started) / 1000;
    const [gw, st] = await Promise.all([
      probe.call<any, any>(`${gateway.nodeID}-probe.report`, {}),
      probe.call<any, any>(`${storage.nodeID}-probe.report`, {}),
    ]);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ size: SIZE, sha256: res.sha256, ownerId: alice.id });

    const mib = (n: number) => Math.round((n / MiB) * 10) / 10;
    const figures = (m: any) => ({
      rssMiB: mib(m.rss),
      heapAndBuffersMiB: mib(m.heapAndBuffers),
      liveHeapAndBuffersMiB: mib(m.liveHeapAndBuffers),
    });
    console.log(
      `50 MiB upload, gateway → RabbitMQ → storage node → S3, ${seconds.toFixed(1)} s; peak increase over the baseline:\n` +
        JSON.stringify({ gateway: figures(gw), storage: figures(st) }, null, 2),
    );
    // Neither node ever holds the file (peaks of RSS include garbage not yet collected). The
    // gateway holds a few chunks at a time (measured: 0.5-0.7 MiB); the storage node's share is
    // mostly the S3 upload: 5 MiB parts, two in flight, one filling.
    expect(gw.liveHeapAndBuffers).toBeLessThan(8 * MiB);
    expect(st.liveHeapAndBuffers).toBeLessThan(SIZE * 0.8);

    // And back: the storage node streams it to the gateway (?redirect=false), byte for byte.
    const back = await fetch(`${api}/files/${res.body.id}?redirect=false`, { headers: c.as(alice.token) });
    expect(back.status).toBe(200);
    const hash = createHash("sha256");
    for await (const chunk of back.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
    expect(hash.digest("hex")).toBe(res.sha256);
  }, 180_000);

  test("across nodes too, a file above the limit is a 413 and leaves nothing behind", async () => {
    const keysBefore = await s3.keys();
    const abortedBefore = s3.abortedUploads;
    const res = await streamUpload(api, alice.token, SIZE + MiB + 1);
    expect(res).toMatchObject({ status: 413, body: { type: "PAYLOAD_TOO_LARGE" } });
    await until(
      "the aborted upload to be cleaned up",
      async () => s3.abortedUploads > abortedBefore && (await s3.unfinishedUploads()) === 0,
      { timeoutMs: 60_000 },
    );
    expect(await s3.keys()).toEqual(keysBefore);
    const pending = await probe.call<any, any>(
      "storage.list",
      { status: "pending" },
      { meta: { user: { id: randomUUID(), role: "admin" } } },
    );
    expect(pending.total).toBe(0);
  }, 180_000);
});

clusterSuite("transit backpressure (middlewares/transit-backpressure.ts), over RabbitMQ", () => {
  const SIZE = 12 * MiB;
  const PREFETCH = 16;
  const brokers: ServiceBroker[] = [];

  afterAll(async () => {
    await Promise.all(brokers.map((b) => b.stop()));
  });

  /**
   * A sender and a receiver node; the receiver's action reads its stream slowly (like an S3
   * part upload that takes a while). Returns the most the receiving stream ever buffered.
   */
  async function slowReceiver(withMiddleware: boolean): Promise<{ maxBuffered: number; received: number }> {
    const { ServiceBroker } = await import("moleculer");
    const { amqpTransporter } = await import("../../moleculer.config.ts");
    const { TransitBackpressure } = await import("../../middlewares/transit-backpressure.ts");
    const namespace = `bp-${randomBytes(4).toString("hex")}`;
    // The prefetch bounds what is delivered before acknowledgements stop: PREFETCH chunks.
    const options = { namespace, transporter: amqpTransporter(AMQP, PREFETCH), logger: false, requestTimeout: 60_000 } as const;
    const sender = new ServiceBroker({ ...options, nodeID: `${namespace}-sender` });
    const receiver = new ServiceBroker({
      ...options,
      nodeID: `${namespace}-receiver`,
      middlewares: withMiddleware ? [TransitBackpressure()] : [],
    });
    brokers.push(sender, receiver);
    let maxBuffered = 0;
    receiver.createService({
      name: "sink",
      actions: {
        async slow(ctx: any) {
          let received = 0;
          for await (const chunk of ctx.stream as AsyncIterable<Buffer>) {
            received += chunk.length;
            const stream = ctx.stream as { writableLength: number; readableLength: number };
            maxBuffered = Math.max(maxBuffered, stream.writableLength + stream.readableLength);
            // ~2 MiB/s: slower than RabbitMQ delivers on localhost.
            if (received % (MiB / 4) < chunk.length) await new Promise((r) => setTimeout(r, 125));
          }
          return received;
        },
      },
    });
    await Promise.all([sender.start(), receiver.start()]);
    await sender.waitForServices(["sink"], 20_000);
    const { Readable } = await import("node:stream");
    const source = Readable.from(
      (function* () {
        for (let sent = 0; sent < SIZE; sent += 64 * 1024) yield randomBytes(64 * 1024);
      })(),
      { objectMode: false }, // bytes, like a busboy file part
    );
    const received = await sender.call<number, object>("sink.slow", {}, { stream: source, retries: 0 });
    return { maxBuffered, received };
  }

  test("a slow consumer's stream stays bounded with it, and piles up without it", async () => {
    const without = await slowReceiver(false);
    const withIt = await slowReceiver(true);
    console.log(
      `${SIZE / MiB} MiB to a slow consumer: most buffered in the receiving stream ` +
        `${(without.maxBuffered / MiB).toFixed(1)} MiB without the middleware, ${(withIt.maxBuffered / MiB).toFixed(1)} MiB with it`,
    );
    expect(without.received).toBe(SIZE);
    expect(withIt.received).toBe(SIZE);
    expect(without.maxBuffered).toBeGreaterThan(4 * MiB);
    // The high-water mark (1 MiB) plus what the prefetch lets in before acknowledgements stop.
    expect(withIt.maxBuffered).toBeLessThanOrEqual(1 * MiB + (PREFETCH + 1) * 64 * 1024);
  }, 120_000);

  /**
   * A sender whose RabbitMQ takes bytes slowly (through a throttling proxy) streams to a fast
   * receiver. Returns the most the sender's AMQP connection ever had waiting to be written:
   * frames in amqplib's queue (a 64 KiB chunk is a message of three frames: method, header,
   * body) and bytes in the socket.
   */
  async function slowBroker(
    withMiddleware: boolean,
  ): Promise<{ maxFrames: number; maxBytes: number; received: number; mibPerSec: number }> {
    const { ServiceBroker } = await import("moleculer");
    const { amqpTransporter } = await import("../../moleculer.config.ts");
    const { TransitBackpressure, amqpBacklog } = await import("../../middlewares/transit-backpressure.ts");
    const { startTcpProxy } = await import("../support/tcp-proxy.ts");
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(AMQP).port || 5672) }, { uploadBytesPerSecond: 16 * MiB });
    const namespace = `bps-${randomBytes(4).toString("hex")}`;
    const options = { namespace, logger: false, requestTimeout: 60_000 } as const;
    const slowUrl = Object.assign(new URL(AMQP), { host: `127.0.0.1:${proxy.port}` }).toString();
    const sender = new ServiceBroker({
      ...options,
      nodeID: `${namespace}-sender`,
      transporter: amqpTransporter(slowUrl, PREFETCH),
      middlewares: withMiddleware ? [TransitBackpressure()] : [],
    });
    const receiver = new ServiceBroker({ ...options, nodeID: `${namespace}-receiver`, transporter: amqpTransporter(AMQP, PREFETCH) });
    receiver.createService({
      name: "sink",
      actions: {
        async fast(ctx: any) {
          let received = 0;
          for await (const chunk of ctx.stream as AsyncIterable<Buffer>) received += chunk.length;
          return received;
        },
      },
    });
    try {
      await Promise.all([sender.start(), receiver.start()]);
      await sender.waitForServices(["sink"], 20_000);
      let maxFrames = 0;
      let maxBytes = 0;
      const sampler = setInterval(() => {
        const b = amqpBacklog(sender.transit as never);
        maxFrames = Math.max(maxFrames, b?.frames ?? 0);
        maxBytes = Math.max(maxBytes, b?.bytes ?? 0);
      }, 5);
      const { Readable } = await import("node:stream");
      const source = Readable.from(
        (function* () {
          for (let sent = 0; sent < SIZE; sent += 64 * 1024) yield randomBytes(64 * 1024);
        })(),
        { objectMode: false },
      );
      try {
        const started = Date.now();
        const received = await sender.call<number, object>("sink.fast", {}, { stream: source, retries: 0 });
        return { maxFrames, maxBytes, received, mibPerSec: received / MiB / ((Date.now() - started) / 1000) };
      } finally {
        clearInterval(sampler);
      }
    } finally {
      await Promise.all([sender.stop(), receiver.stop()]);
      await proxy.close();
    }
  }

  test("a sender whose RabbitMQ reads slowly keeps its outgoing queue bounded with it, and piles up without it", async () => {
    const without = await slowBroker(false);
    const withIt = await slowBroker(true);
    const chunks = (frames: number) => `${frames} frames (~${(((frames / 3) * 64) / 1024).toFixed(1)} MiB of chunks)`;
    console.log(
      `${SIZE / MiB} MiB through a slow link to RabbitMQ (${without.mibPerSec.toFixed(1)} / ${withIt.mibPerSec.toFixed(1)} MiB/s): ` +
        `most waiting in the sender's AMQP connection ${chunks(without.maxFrames)} without the middleware, ` +
        `${chunks(withIt.maxFrames)} with it`,
    );
    expect(without.received).toBe(SIZE);
    expect(withIt.received).toBe(SIZE);
    expect(without.maxFrames).toBeGreaterThan(3 * 64); // more than 4 MiB of chunks
    // The middleware's limit (1 MiB: 8 frames of up to 128 KiB) plus the message that crossed it.
    expect(withIt.maxFrames).toBeLessThanOrEqual(8 + 3);
    expect(withIt.maxBytes).toBeLessThanOrEqual(1 * MiB);
  }, 120_000);
});
