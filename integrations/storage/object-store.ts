/**
 * One interface for where file contents live: an S3 bucket (AWS, MinIO, s3rver, ...) or a
 * folder on the node's disk (the embedded default). Keys are chosen by the caller (the
 * storage service generates them; they never come from a client). Contents are streamed:
 * no implementation holds a whole file in memory, and `put` computes the SHA-256 and the
 * size of what it stored while the bytes pass through.
 *
 * A `put` either stores the complete object or nothing: a failed or aborted stream leaves
 * no object (and, on S3, no unfinished multipart upload) behind.
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";

export interface PutOptions {
  contentType: string;
  /** When known in advance: the stream must have exactly this many bytes, else nothing is stored. */
  size?: number;
}

export interface PutResult {
  size: number;
  /** Lower-case hex SHA-256 of the stored bytes. */
  sha256: string;
}

export interface ObjectInfo {
  size: number;
  contentType: string | null;
}

export interface GetResult extends ObjectInfo {
  stream: Readable;
}

export interface PresignGetOptions {
  /** Suggested download name (Content-Disposition of the response). */
  filename: string;
  contentType: string;
}

export interface PresignPutOptions {
  contentType: string;
  /** Exact size the upload must have. */
  size: number;
}

export interface ObjectStore {
  readonly driver: "s3" | "local";
  put(key: string, stream: Readable, opts: PutOptions): Promise<PutResult>;
  /** The object's content; ObjectNotFoundError when there is none. */
  get(key: string): Promise<GetResult>;
  /** Size and type of the object, or null when there is none. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Idempotent: deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** A URL anyone may GET for `ttlSec` seconds. */
  presignGet(key: string, ttlSec: number, opts: PresignGetOptions): Promise<string>;
  /** A URL anyone may PUT exactly `size` bytes of `contentType` to, for `ttlSec` seconds. */
  presignPut(key: string, ttlSec: number, opts: PresignPutOptions): Promise<string>;
}

export class ObjectNotFoundError extends Error {
  override name = "ObjectNotFoundError";
  readonly key: string;
  constructor(key: string) {
    super(`No object under key ${key}.`);
    this.key = key;
  }
}

/**
 * The store did not answer: refused, timed out, or failed on its side (an S3 5xx). An outage,
 * not a fault of the request: clients get a 503 and may try again (services/storage/errors.ts).
 */
export class ObjectStoreUnavailableError extends Error {
  override name = "ObjectStoreUnavailableError";
  constructor(cause: unknown) {
    // The cause (e.g. "connect ECONNREFUSED ...") stays out of the message: it is not the database's.
    super("The object store is unavailable.", { cause });
  }
}

/** The stream did not have the size announced in PutOptions.size. */
export class SizeMismatchError extends Error {
  override name = "SizeMismatchError";
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number) {
    super(`Expected ${expected} bytes, got ${actual}${actual > expected ? " or more" : ""}.`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** Keys are server-generated; this is the shape they are allowed to have. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
export function isValidKey(key: unknown): key is string {
  return typeof key === "string" && key.length <= 512 && KEY.test(key) && !key.split("/").some((s) => s === "." || s === "..");
}

/** A key that no store would ever have generated (`../../etc/passwd`): nothing is stored under it. */
export class InvalidKeyError extends Error {
  override name = "InvalidKeyError";
}

export function assertKey(key: string): void {
  if (!isValidKey(key)) throw new InvalidKeyError(`Invalid object key ${JSON.stringify(key)}.`);
}

/**
 * A pass-through that counts and hashes the bytes flowing through it. With `expectedSize`,
 * it fails as soon as the stream is longer, and at the end when it is shorter.
 */
export class Meter extends Transform {
  /** Not `size`: lib-storage reads `Body.size` as the length of what it uploads. */
  bytes = 0;
  private readonly hash: Hash = createHash("sha256");
  private readonly expectedSize: number | undefined;
  private digest: string | undefined;

  constructor(expectedSize?: number) {
    super();
    this.expectedSize = expectedSize;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expectedSize !== undefined && this.bytes > this.expectedSize) {
      cb(new SizeMismatchError(this.expectedSize, this.bytes));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.expectedSize !== undefined && this.bytes !== this.expectedSize) {
      cb(new SizeMismatchError(this.expectedSize, this.bytes));
      return;
    }
    this.digest = this.hash.digest("hex");
    cb();
  }

  /** The hex SHA-256, once the stream has ended. */
  get sha256(): string {
    if (this.digest === undefined) throw new Error("The stream has not ended yet.");
    return this.digest;
  }
}
