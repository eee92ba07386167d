/**
 * S3ObjectStore against a fake endpoint that refuses everything: a failing store must fail
 * the put promptly and stop reading the source, never hang on it.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { S3ObjectStore, MIN_PART_SIZE } from "../../../../integrations/storage/s3.ts";

let server: http.Server;
let endpoint: string;
const seen: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url?.split("?")[0]}${req.url?.includes("uploads") ? "?uploads" : ""}`);
    req.resume();
    req.on("end", () => {
      res.writeHead(500, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>broken</Message></Error>`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const store = () =>
  new S3ObjectStore({
    bucket: "b",
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    client: { maxAttempts: 1, credentials: { accessKeyId: "k", secretAccessKey: "s" } },
  });

test("a small object: the PutObject fails, put rejects", async () => {
  const source = new PassThrough();
  source.end(Buffer.from("hello"));
  await expect(store().put("files/a", source, { contentType: "text/plain" })).rejects.toThrow();
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
