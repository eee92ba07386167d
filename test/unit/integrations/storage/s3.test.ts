/**
 * S3ObjectStore against fake endpoints: one that fails everything (a 500, or a 403 when told
 * to), one that accepts connections and never answers, and a port nobody listens on. A failing
 * store must fail promptly and stop reading the source, never hang on it; an outage (5xx,
 * refused, no answer) is an ObjectStoreUnavailableError, a refusal of S3's (4xx) is not.
 */
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { S3ObjectStore, MIN_PART_SIZE, type S3StoreOptions } from "../../../../integrations/storage/s3.ts";
import { ObjectStoreUnavailableError } from "../../../../integrations/storage/object-store.ts";

let server: http.Server;
let endpoint: string;
const seen: string[] = [];
let status = 500;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url?.split("?")[0]}${req.url?.includes("uploads") ? "?uploads" : ""}`);
    req.resume();
    req.on("end", () => {
      res.writeHead(status, { "content-type": "application/xml" });
      const code = status === 403 ? "AccessDenied" : "InternalError";
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>broken</Message></Error>`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const store = (opts: Partial<S3StoreOptions> = {}) =>
  new S3ObjectStore({
    bucket: "b",
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    client: { maxAttempts: 1, credentials: { accessKeyId: "k", secretAccessKey: "s" } },
    ...opts,
  });

test("a small object: the PutObject fails, put rejects", async () => {
  const source = new PassThrough();
  source.end(Buffer.from("hello"));
  await expect(store().put("files/a", source, { contentType: "text/plain" })).rejects.toThrow(ObjectStoreUnavailableError);
  expect(seen).toContain("PUT /b/files/a");
});

test("a large object: the multipart upload fails while the source is still sending; the source is stopped", async () => {
  const source = new PassThrough();
  let written = 0;
  const chunk = Buffer.alloc(256 * 1024);
  const pump = setInterval(() => {
    if (!source.destroyed && written < 64 * MIN_PART_SIZE) {
      source.write(chunk);
      written += chunk.length;
    }
  }, 1);
  try {
    await expect(store().put("files/big", source, { contentType: "image/png" })).rejects.toThrow();
    expect(source.destroyed).toBe(true);
    expect(written).toBeLessThan(64 * MIN_PART_SIZE);
    expect(seen).toContain("POST /b/files/big?uploads");
  } finally {
    clearInterval(pump);
  }
});

test("S3's 5xx is an outage, its 4xx (access denied) is not", async () => {
  await expect(store().head("files/a")).rejects.toThrow(ObjectStoreUnavailableError);
  await expect(store().delete("files/a")).rejects.toThrow(ObjectStoreUnavailableError);
  status = 403;
  try {
    const denied = await store()
      .head("files/a")
      .catch((err: unknown) => err);
    expect(denied).toBeInstanceOf(Error);
    expect(denied).not.toBeInstanceOf(ObjectStoreUnavailableError);
  } finally {
    status = 500;
  }
});

test("an endpoint that takes the connection and never answers: every operation fails after the socket timeout", async () => {
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  // Without the timeout, the SDK waited for good (checked: still waiting after 20 s).
  const stuck = store({ endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, socketTimeoutMs: 300 });
  try {
    const source = new PassThrough();
    source.end(Buffer.from("hello"));
    const outcomes = await Promise.all([
      stuck.head("files/a").catch((err: unknown) => err),
      stuck.delete("files/a").catch((err: unknown) => err),
      stuck.get("files/a").catch((err: unknown) => err),
      stuck.put("files/a", source, { contentType: "text/plain" }).catch((err: unknown) => err),
    ]);
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(ObjectStoreUnavailableError);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test("a refused connection is an outage", async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await expect(store({ endpoint: `http://127.0.0.1:${port}` }).head("files/a")).rejects.toThrow(ObjectStoreUnavailableError);
});
