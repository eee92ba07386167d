/**
 * The storage service's client errors, and the translation of whatever a failed upload
 * throws (a size guard, the gateway's multipart parser, a dropped client, the object store)
 * into them. Nothing here is retryable: a stream cannot be sent twice.
 */
import { Errors } from "moleculer";
import { ObjectStoreUnavailableError, SizeMismatchError } from "../../integrations/storage/index.ts";

const { MoleculerClientError, MoleculerError } = Errors;

export function tooLarge(maxBytes: number) {
  return new MoleculerClientError(`The file is larger than the limit of ${maxBytes} bytes.`, 413, "PAYLOAD_TOO_LARGE", { maxBytes });
}

export function unsupportedType(message: string, data: Record<string, unknown>) {
  return new MoleculerClientError(message, 415, "UNSUPPORTED_MEDIA_TYPE", data);
}

export function uploadIdle(idleMs: number) {
  return new MoleculerClientError(`The upload stalled: no data for ${Math.round(idleMs / 1000)} s.`, 408, "UPLOAD_TIMEOUT");
}

export function uploadInterrupted() {
  return new MoleculerClientError("The upload was interrupted before the file was complete.", 400, "UPLOAD_INTERRUPTED");
}

export function signedUrlRefused(message: string, type = "SIGNATURE_MISMATCH") {
  return new MoleculerClientError(message, 403, type);
}

/** The object store (S3) refused, timed out or failed on its side: a 503 with Retry-After; the client may send it again. */
export function storeUnavailable() {
  return new MoleculerError("File storage is unavailable right now; try again shortly.", 503, "STORAGE_UNAVAILABLE");
}

/** An object-store outage as the 503 above; any other error as it is. */
export function asStoreOutage(err: unknown): unknown {
  return err instanceof ObjectStoreUnavailableError ? storeUnavailable() : err;
}

/** A 500 without details for the client (the gateway logs it), never retried. */
export function storageFailure() {
  return new MoleculerError("Storing or reading the file failed.", 500, "STORAGE_ERROR");
}

const INTERRUPTED = /terminated early|unexpected end of (multipart|form)|aborted|ECONNRESET|premature close/i;

/**
 * What the client is told when receiving an upload failed: client errors keep their status
 * (also those that crossed the transporter as plain errors with a `code`), an interrupted
 * stream is a 400, an object store that is down a 503, anything else is logged and becomes a plain 500.
 */
export function uploadFailure(err: unknown, log: (msg: string, err: unknown) => void): Error {
  if (err instanceof SizeMismatchError) {
    return new MoleculerClientError(
      `The body has ${err.actual > err.expected ? "more" : "fewer"} bytes than the ${err.expected} announced.`,
      400,
      "SIZE_MISMATCH",
      {
        expected: err.expected,
      },
    );
  }
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === "number" && e.code >= 400 && e.code < 500) return err as Error;
  if (typeof e?.message === "string" && INTERRUPTED.test(e.message)) return uploadInterrupted();
  if (err instanceof ObjectStoreUnavailableError) return storeUnavailable();
  log("Storing an upload failed:", err);
  return storageFailure();
}
