import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import {
  LocalObjectStore,
  ObjectNotFoundError,
  PresignUnsupportedError,
  SizeMismatchError,
  createObjectStore,
} from "../../../../integrations/storage/index.ts";
import { S3ObjectStore } from "../../../../integrations/storage/s3.ts";
import { packagesLoadedBy } from "../../../support/imports.ts";
import { loadConfig } from "../../../../lib/config.ts";

let dir: string;
let store: LocalObjectStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "store-"));
  store = new LocalObjectStore({ dir, signedUrls: { baseUrl: "http://shop.test/api/files/signed/", secret: "s".repeat(32) } });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const from = (...parts: string[]) =>
  Readable.from(
    parts.map((p) => Buffer.from(p)),
    { objectMode: false },
  );
const read = async (s: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
};
const listing = () => fs.readdirSync(dir, { recursive: true }).map(String).sort();

test("put, head, get, delete", async () => {
  const put = await store.put("files/a", from("hello ", "world"), { contentType: "text/plain" });
  expect(put).toEqual({ size: 11, sha256: createHash("sha256").update("hello world").digest("hex") });
  expect(await store.head("files/a")).toEqual({ size: 11, contentType: "text/plain" });
  const got = await store.get("files/a");
  expect(got.size).toBe(11);
  expect(got.contentType).toBe("text/plain");
  expect(await read(got.stream)).toBe("hello world");
  expect(listing()).toEqual(["files", "files/a", "files/a~meta"]);
  await store.delete("files/a");
  await store.delete("files/a"); // idempotent
  expect(await store.head("files/a")).toBeNull();
  await expect(store.get("files/a")).rejects.toBeInstanceOf(ObjectNotFoundError);
});

test("a failing stream or a wrong size leaves nothing behind", async () => {
  const broken = new PassThrough();
  broken.write("partial content");
  setTimeout(() => broken.destroy(new Error("client went away")), 10);
  await expect(store.put("files/b", broken, { contentType: "text/plain" })).rejects.toThrow("client went away");
  await expect(store.put("files/c", from("12345"), { contentType: "text/plain", size: 4 })).rejects.toBeInstanceOf(SizeMismatchError);
  await expect(store.put("files/d", from("123"), { contentType: "text/plain", size: 4 })).rejects.toBeInstanceOf(SizeMismatchError);
  expect(listing()).toEqual(["files"]);
});

test("a replaced object is swapped whole; readers of the old one keep it", async () => {
  await store.put("files/e", from("old content"), { contentType: "text/plain" });
  const old = await store.get("files/e");
  await store.put("files/e", from("new"), { contentType: "text/plain" });
  expect(await read(old.stream)).toBe("old content");
  expect(await read((await store.get("files/e")).stream)).toBe("new");
});

test("keys cannot leave the folder", async () => {
  for (const key of ["../x", "files/../../x", "/etc/passwd", "files//x", "files/.", "a\\b", "", "files/x~meta", "a b"]) {
    await expect(store.put(key, from("x"), { contentType: "text/plain" })).rejects.toThrow("Invalid object key");
  }
  expect(listing()).toEqual([]);
});

test("signed URLs: what presign* hands out, verify accepts", async () => {
  const putUrl = await store.presignPut("files/f", 60, { contentType: "image/png", size: 10 });
  expect(putUrl.startsWith("http://shop.test/api/files/signed/")).toBe(true);
  const token = putUrl.slice(putUrl.lastIndexOf("/") + 1);
  expect(store.verify(token, "PUT")).toMatchObject({ k: "files/f", m: "PUT", t: "image/png", n: 10 });
  expect(() => store.verify(token, "GET")).toThrow("only allows PUT");
  const getUrl = await store.presignGet("files/f", 60, { filename: "a.png", contentType: "image/png" });
  expect(store.verify(getUrl.slice(getUrl.lastIndexOf("/") + 1), "GET")).toMatchObject({ k: "files/f", f: "a.png" });
  const unsigned = new LocalObjectStore({ dir });
  await expect(unsigned.presignPut("files/f", 60, { contentType: "image/png", size: 1 })).rejects.toBeInstanceOf(PresignUnsupportedError);
});

test("createObjectStore follows the configuration", async () => {
  const local = await createObjectStore(loadConfig({ STORAGE_DIR: dir, APP_URL: "https://shop.example" }));
  expect(local).toBeInstanceOf(LocalObjectStore);
  const s3 = await createObjectStore(loadConfig({ S3_BUCKET: "b", S3_ENDPOINT: "http://127.0.0.1:9000" }));
  expect(s3).toBeInstanceOf(S3ObjectStore);
  expect(s3.driver).toBe("s3");
});

test("the AWS SDK is loaded only when the configuration asks for S3", () => {
  const make = (env: Record<string, string>) => `
    const { createObjectStore } = await import(url("integrations/storage/index.ts"));
    const { loadConfig } = await import(url("lib/config.ts"));
    await createObjectStore(loadConfig(${JSON.stringify(env)}));`;
  const aws = (packages: string[]) => packages.filter((p) => p.startsWith("@aws-sdk/"));
  expect(aws(packagesLoadedBy(make({ STORAGE_DIR: dir })))).toEqual([]);
  expect(aws(packagesLoadedBy(make({ S3_BUCKET: "b", S3_ENDPOINT: "http://127.0.0.1:9000" })))).toEqual(
    expect.arrayContaining(["@aws-sdk/client-s3", "@aws-sdk/lib-storage"]),
  );
});
