/**
 * What the storage service's files share: the row (`FileRecord`), the service's methods as
 * its action modules see them, and the small helpers of downloads and signed URLs.
 */
import type { Readable } from "node:stream";
import type { Context, Service } from "moleculer";
import type { Model } from "sequelize";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import { notFound } from "../../lib/errors.ts";
import type { Ownership } from "../../middlewares/ownership.ts";
import type { DbMethods, DbVars } from "../../mixins/db.mixin.ts";
import type { DurableEventMethods, DurableEventVars } from "../../mixins/durable-events.mixin.ts";
import { contentDisposition, LocalObjectStore, SignedUrlError, type ObjectStore } from "../../integrations/storage/index.ts";
import { signedUrlRefused } from "./errors.ts";
import type { LinkMethods, LinkVars } from "./links.actions.ts";

export const FILE_STATUSES = ["pending", "ready"] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

export interface FileRecord {
  id: string;
  ownerId: string;
  filename: string;
  contentType: string;
  size: number | null;
  sha256: string | null;
  key: string;
  status: FileStatus;
  /** Linked as a product image or an avatar: anyone may download it. */
  public: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A file as it leaves the service: no storage key, no status (only ready files are shown). */
export type StoredFile = Pick<FileRecord, "id" | "ownerId" | "filename" | "contentType" | "size" | "sha256" | "public" | "createdAt">;

export type Ctx<P = Record<string, unknown>> = Context<P, ShopMeta>;

export interface StorageSettings {
  rest: string;
}

export interface StorageVars extends DbVars, LinkVars, DurableEventVars {
  store: ObjectStore;
  sweepTimer: NodeJS.Timeout | undefined;
}

export interface StorageMethods extends DbMethods<StoredFile>, LinkMethods, DurableEventMethods {
  guard(source: Readable): Readable;
  receive(ctx: Ctx<unknown>, source: Readable, file: { ownerId: string; filename: string; declaredType: unknown }): Promise<StoredFile>;
  putSigned(ctx: Ctx<{ token: string }>, source: Readable | null): Promise<void>;
  markReady(ctx: Ctx<unknown>, id: string, values: { size: number; sha256: string; contentType?: string }): Promise<StoredFile>;
  verifyContent(file: FileRecord): Promise<{ size: number; sha256: string }>;
  dropQuietly(key: string): Promise<void>;
  removeFile(file: FileRecord, emitter: { emit(event: string, payload: unknown): unknown }): Promise<boolean>;
  purgeOwner(ownerId: string): Promise<{ removed: number; kept: number }>;
  sweep(): Promise<number>;
}
export type Self = Service<StorageSettings> & StorageMethods & StorageVars;

export const ID = { type: "string", max: 64 } as const;

/**
 * Whose files a caller may see (middlewares/ownership.ts): their own, and staff everyone's.
 * Anyone else's file is "not found", as a missing one is.
 */
export const OWN_FILES: Ownership = { entity: "File", owner: "ownerId", staff: "admin" };

export function plain(row: Model): FileRecord {
  return row.get({ plain: true }) as FileRecord;
}

export function localStore(store: ObjectStore): LocalObjectStore {
  // Signed gateway URLs exist only for the local store; with S3 the URLs point at S3 itself.
  if (!(store instanceof LocalObjectStore)) throw notFound("File");
  return store;
}

export function verifySigned(store: LocalObjectStore, token: string, method: "GET" | "PUT") {
  try {
    return store.verify(token, method);
  } catch (err) {
    if (err instanceof SignedUrlError) {
      throw signedUrlRefused(err.message, err.reason === "expired" ? "URL_EXPIRED" : "SIGNATURE_MISMATCH");
    }
    throw err;
  }
}

/** Response headers of a download: never cached by shared caches, never sniffed by browsers. */
export function downloadHeaders(file: { filename: string; size: number; sha256?: string | null }): Record<string, string> {
  return {
    "Content-Length": String(file.size),
    "Content-Disposition": contentDisposition(file.filename),
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    ...(file.sha256 ? { "Repr-Digest": `sha-256=:${Buffer.from(file.sha256, "hex").toString("base64")}:` } : {}),
  };
}
