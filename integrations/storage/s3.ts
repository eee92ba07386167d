/**
 * ObjectStore on S3 or anything that speaks its API (MinIO, s3rver, R2, ...).
 *
 * - Credentials come from the standard AWS chain (environment, shared files, SSO, container
 *   and instance roles); nothing here reads them.
 * - `put` streams through lib-storage's Upload: a stream shorter than one part is a single
 *   PutObject, a longer one a multipart upload whose parts are sent while the rest is still
 *   arriving. Memory per upload is bounded by partSize × (queueSize + 1), never the file.
 *   A failing source stream or a size mismatch aborts the multipart upload (no parts left
 *   behind), so no partial object ever becomes visible.
 * - Checksums: the SDK's default "flexible checksums" are turned off (WHEN_REQUIRED). They put
 *   an `x-amz-checksum-crc32` of the *empty* body into presigned PUT URLs, which real S3 then
 *   rejects, and several S3-compatible servers do not understand the aws-chunked trailers.
 *   We compute SHA-256 ourselves while streaming; TLS protects the transfer.
 * - An S3 that does not answer fails a request instead of holding it: a connection must be made
 *   within CONNECTION_TIMEOUT_MS and a socket may sit idle for SOCKET_TIMEOUT_MS at most (the
 *   SDK has no timeout of its own: a stalled endpoint held each request, and its socket, for
 *   good). Refused, timed out or failed on S3's side (5xx) is an ObjectStoreUnavailableError.
 */
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  assertKey,
  Meter,
  ObjectNotFoundError,
  ObjectStoreUnavailableError,
  type GetResult,
  type ObjectInfo,
  type ObjectStore,
  type PresignGetOptions,
  type PresignPutOptions,
  type PutOptions,
  type PutResult,
} from "./object-store.ts";
import { contentDisposition } from "./content-disposition.ts";

export interface S3StoreOptions {
  bucket: string;
  region: string;
  endpoint?: string | null;
  /**
   * Where clients reach S3, when not at `endpoint` (compose: the nodes use http://minio:9000,
   * a browser on the host http://localhost:9000). Presigned URLs are signed for this host.
   */
  publicEndpoint?: string | null;
  forcePathStyle?: boolean;
  /** Bytes per multipart part (S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts uploaded in parallel per file. */
  queueSize?: number;
  /** Longest a socket to S3 may sit idle, no byte either way (default SOCKET_TIMEOUT_MS). */
  socketTimeoutMs?: number;
  /** Extra client settings (tests: credentials, retries). */
  client?: Partial<S3ClientConfig>;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const CONNECTION_TIMEOUT_MS = 5_000;
/**
 * Far above S3's own pauses. A slow uploading client never leaves this socket idle (lib-storage
 * sends each part from a complete buffer); a streamed download whose reader stops for this long
 * loses it, as S3 itself drops such a connection.
 */
export const SOCKET_TIMEOUT_MS = 30_000;

function isNotFound(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    return err.$metadata?.httpStatusCode === 404 || err.name === "NotFound" || err.name === "NoSuchKey";
  }
  return false;
}

/**
 * A connection that could not be made, was lost, or did not answer in time: Node's error codes
 * and the SDK's TimeoutError, found in the error's code, name or message (the SDK's retry layer
 * wraps an error from another realm as "AWS SDK error wrapper for TimeoutError: socket hang up").
 */
const UNREACHABLE =
  /\b(TimeoutError|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)\b|socket hang up/;

/** S3 refused the connection, did not answer in time, or failed on its side: `err` as an outage; anything else as it is. */
function asOutage(err: unknown): unknown {
  const e = err as { name?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  const outage =
    (status !== undefined && status >= 500) ||
    [e?.code, e?.name, e?.message].some((text) => typeof text === "string" && UNREACHABLE.test(text));
  return outage ? new ObjectStoreUnavailableError(err) : err;
}

export class S3ObjectStore implements ObjectStore {
  readonly driver = "s3" as const;
  readonly client: S3Client;
  /** Signs the URLs handed to clients: `client`, or one for the public endpoint. */
  private readonly signer: S3Client;
  private readonly bucket: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.partSize = Math.max(MIN_PART_SIZE, opts.partSize ?? MIN_PART_SIZE);
    this.queueSize = Math.max(1, opts.queueSize ?? 2);
    const clientFor = (endpoint: string | null | undefined) =>
      new S3Client({
        region: opts.region,
        ...(endpoint ? { endpoint } : {}),
        forcePathStyle: opts.forcePathStyle ?? false,
        requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: opts.socketTimeoutMs ?? SOCKET_TIMEOUT_MS },
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        ...opts.client,
      });
    this.client = clientFor(opts.endpoint);
    this.signer = opts.publicEndpoint && opts.publicEndpoint !== opts.endpoint ? clientFor(opts.publicEndpoint) : this.client;
  }

  async put(key: string, stream: Readable, opts: PutOptions): Promise<PutResult> {
    assertKey(key);
    const meter = new Meter(opts.size);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: meter, ContentType: opts.contentType },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    // The source's errors reach the Upload through the meter (pipeline destroys it with the
    // error); the Upload then aborts its multipart upload before done() rejects. When the
    // Upload fails first (S3 unreachable, a part refused), it stops reading: destroying the
    // meter ends the pipeline too, instead of leaving the source hanging.
    const uploading = upload.done().catch((err: unknown) => {
      // With the meter already failed (the source, or the size check) the Upload only echoes that
      // error; otherwise S3 failed, and an outage says so on its way through the pipeline.
      const failure = meter.errored ? err : asOutage(err);
      meter.destroy(failure as Error);
      throw failure;
    });
    const [piped, uploaded] = await Promise.allSettled([pipeline(stream, meter), uploading]);
    if (uploaded.status === "rejected") {
      // Prefer the source's error (e.g. "too large", "client went away") over the SDK's echo of it.
      throw piped.status === "rejected" ? piped.reason : uploaded.reason;
    }
    if (piped.status === "rejected") {
      // The object is complete but the stream reported an error after its end: do not keep it.
      await this.delete(key).catch(() => undefined);
      throw piped.reason;
    }
    return { size: meter.bytes, sha256: meter.sha256 };
  }

  async get(key: string): Promise<GetResult> {
    assertKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { stream: out.Body as Readable, contentType: out.ContentType ?? null, size: Number(out.ContentLength ?? 0) };
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      throw asOutage(err);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: Number(out.ContentLength ?? 0), contentType: out.ContentType ?? null };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw asOutage(err);
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch((err: unknown) => {
      throw asOutage(err);
    });
  }

  presignGet(key: string, ttlSec: number, opts: PresignGetOptions): Promise<string> {
    assertKey(key);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentType: opts.contentType,
      ResponseContentDisposition: contentDisposition(opts.filename),
    });
    return getSignedUrl(this.signer, command, { expiresIn: ttlSec });
  }

  presignPut(key: string, ttlSec: number, opts: PresignPutOptions): Promise<string> {
    assertKey(key);
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: opts.contentType, ContentLength: opts.size });
    // Both are signed: S3 refuses a PUT with another type or length.
    return getSignedUrl(this.signer, command, { expiresIn: ttlSec, signableHeaders: new Set(["content-type", "content-length"]) });
  }
}
