/**
 * ObjectStore on a folder of the node's disk: the embedded default (`npm start` with nothing
 * configured). Every node that serves the storage service must see the same folder, so a
 * cluster uses S3 (or a shared volume).
 *
 *   <dir>/<key>          the content
 *   <dir>/<key>~meta     {"contentType","size","sha256"} (`~` never occurs in a key)
 *   <dir>/<key>~part-*   an upload in progress; renamed over <key> only once complete
 *
 * Presigned URLs are HMAC-signed tokens served by the gateway (signed-urls.ts); without
 * `signedUrls` options, presign* throws PresignUnsupportedError.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import {
  assertKey,
  InvalidKeyError,
  Meter,
  ObjectNotFoundError,
  type GetResult,
  type ObjectInfo,
  type ObjectStore,
  type PresignGetOptions,
  type PresignPutOptions,
  type PutOptions,
  type PutResult,
} from "./object-store.ts";
import { signToken, verifyToken, type UrlClaims } from "./signed-urls.ts";

export interface LocalStoreOptions {
  dir: string;
  /** Where the gateway serves signed URLs: `<baseUrl>/<token>`, and the HMAC key. */
  signedUrls?: { baseUrl: string; secret: string | Buffer };
}

export class PresignUnsupportedError extends Error {
  override name = "PresignUnsupportedError";
}

interface Meta {
  contentType: string | null;
  size: number;
  sha256?: string;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException)?.code === "ENOENT";

export class LocalObjectStore implements ObjectStore {
  readonly driver = "local" as const;
  readonly dir: string;
  private readonly signed: LocalStoreOptions["signedUrls"];

  constructor(opts: LocalStoreOptions) {
    this.dir = path.resolve(opts.dir);
    this.signed = opts.signedUrls;
  }

  private pathOf(key: string): string {
    assertKey(key);
    const file = path.resolve(this.dir, key);
    if (!file.startsWith(this.dir + path.sep)) throw new InvalidKeyError(`Invalid object key ${JSON.stringify(key)}.`);
    return file;
  }

  async put(key: string, stream: Readable, opts: PutOptions): Promise<PutResult> {
    const file = this.pathOf(key);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const suffix = randomBytes(6).toString("hex");
    const part = `${file}~part-${suffix}`;
    const metaPart = `${file}~metapart-${suffix}`;
    const meter = new Meter(opts.size);
    try {
      await pipeline(stream, meter, fs.createWriteStream(part, { flags: "wx" }));
      const meta: Meta = { contentType: opts.contentType, size: meter.bytes, sha256: meter.sha256 };
      await fsp.writeFile(metaPart, JSON.stringify(meta), { flag: "wx" });
      await fsp.rename(metaPart, `${file}~meta`);
      await fsp.rename(part, file);
      return { size: meter.bytes, sha256: meter.sha256 };
    } catch (err) {
      await Promise.all([fsp.rm(part, { force: true }), fsp.rm(metaPart, { force: true })]);
      throw err;
    }
  }

  private async readMeta(file: string): Promise<Meta | null> {
    try {
      return JSON.parse(await fsp.readFile(`${file}~meta`, "utf8")) as Meta;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async get(key: string): Promise<GetResult> {
    const file = this.pathOf(key);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, "r");
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(key);
      throw err;
    }
    try {
      const [stat, meta] = await Promise.all([handle.stat(), this.readMeta(file)]);
      return { stream: handle.createReadStream(), size: stat.size, contentType: meta?.contentType ?? null };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const file = this.pathOf(key);
    try {
      const stat = await fsp.stat(file);
      const meta = await this.readMeta(file);
      return { size: stat.size, contentType: meta?.contentType ?? null };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    await fsp.rm(file, { force: true });
    await fsp.rm(`${file}~meta`, { force: true });
  }

  private sign(claims: UrlClaims): string {
    if (!this.signed) throw new PresignUnsupportedError("Presigned URLs are not available for the local store on this node.");
    return `${this.signed.baseUrl.replace(/\/$/, "")}/${signToken(claims, this.signed.secret)}`;
  }

  async presignGet(key: string, ttlSec: number, opts: PresignGetOptions): Promise<string> {
    this.pathOf(key);
    return this.sign({ k: key, m: "GET", e: Math.floor(Date.now() / 1000) + ttlSec, t: opts.contentType, f: opts.filename });
  }

  async presignPut(key: string, ttlSec: number, opts: PresignPutOptions): Promise<string> {
    this.pathOf(key);
    return this.sign({ k: key, m: "PUT", e: Math.floor(Date.now() / 1000) + ttlSec, t: opts.contentType, n: opts.size });
  }

  /** Check a token from a signed URL (the storage service serves them through the gateway). */
  verify(token: string, method: "GET" | "PUT"): UrlClaims {
    if (!this.signed) throw new PresignUnsupportedError("Presigned URLs are not available for the local store on this node.");
    return verifyToken(token, method, this.signed.secret);
  }
}
