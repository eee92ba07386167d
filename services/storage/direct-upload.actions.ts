/**
 * Direct uploads: `POST /api/files/presign` registers a pending file and returns a URL to PUT
 * its content to (S3's presigned URL, or with the local store an HMAC-signed gateway URL served
 * by `signedPut`); `POST /api/files/:id/complete` checks what arrived (size, type), hashes it
 * and marks the file ready. `signedGet` is the local store's presigned download.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { Errors, type ActionSchema } from "moleculer";
import { getConfig } from "../../lib/config.ts";
import { conflict, notFound } from "../../lib/errors.ts";
import { InvalidKeyError, ObjectNotFoundError, PresignUnsupportedError } from "../../integrations/storage/index.ts";
import { decideType, normalizeType, SNIFF_BYTES } from "./content-types.ts";
import { sanitizeFilename } from "./filenames.ts";
import { peek } from "./streams.ts";
import { signedUrlRefused, tooLarge, unsupportedType, uploadFailure } from "./errors.ts";
import { downloadHeaders, ID, localStore, OWN_FILES, plain, verifySigned, type Ctx, type FileRecord, type Self } from "./files.ts";
import { ownedEntity } from "../../middlewares/ownership.ts";

const cfg = getConfig();

export const directUploadActions: Record<string, ActionSchema<Self>> = {
  presign: {
    rest: "POST /presign",
    access: "authenticated",
    params: {
      $$strict: true,
      filename: { type: "string", min: 1, max: 4096 },
      contentType: { type: "string", min: 1, max: 255 },
      size: { type: "number", integer: true, min: 1, max: Number.MAX_SAFE_INTEGER },
    },
    async handler(this: Self, ctx: Ctx<{ filename: string; contentType: string; size: number }>) {
      const { size } = ctx.params;
      if (size > cfg.storage.maxBytes) throw tooLarge(cfg.storage.maxBytes);
      const contentType = normalizeType(ctx.params.contentType);
      if (!contentType || !cfg.storage.allowedTypes.includes(contentType)) {
        throw unsupportedType(
          `Files of type ${contentType ?? ctx.params.contentType} are not accepted; upload one of: ${cfg.storage.allowedTypes.join(", ")}.`,
          {
            declared: contentType,
          },
        );
      }
      const id = randomUUID();
      const key = `files/${id}`;
      const ttl = cfg.storage.presignTtlSec;
      let url: string;
      try {
        url = await this.store.presignPut(key, ttl, { contentType, size });
      } catch (err) {
        // (createObjectStore always gives the local store its signed URLs: not expected in practice.)
        if (err instanceof PresignUnsupportedError) throw conflict(err.message, "PRESIGN_UNSUPPORTED");
        throw err;
      }
      const expiresAt = new Date(Date.now() + ttl * 1000);
      await this.adapter.model.create({
        id,
        ownerId: ctx.meta.user!.id,
        filename: sanitizeFilename(ctx.params.filename),
        contentType,
        size,
        sha256: null,
        key,
        status: "pending",
      });
      ctx.meta.$statusCode = 201;
      ctx.meta.$location = `/api/files/${id}`;
      return { id, url, method: "PUT", headers: { "Content-Type": contentType }, expiresAt: expiresAt.toISOString() };
    },
  },

  /** The presigned upload is done: check it (size, type), hash it, mark the file ready. */
  complete: {
    rest: "POST /:id/complete",
    access: "authenticated",
    // The uploader's own file only: not even staff complete someone else's upload.
    ownership: { entity: OWN_FILES.entity, owner: OWN_FILES.owner },
    params: { $$strict: true, id: ID },
    async handler(this: Self, ctx: Ctx<{ id: string }>) {
      const file = ownedEntity<FileRecord>(ctx);
      if (file.status === "ready") return this.toPublic(file);
      const { sha256 } = await this.verifyContent(file);
      return this.markReady(ctx, file.id, { size: file.size!, sha256 });
    },
  },

  /** The local store's presigned PUT (aliased `PUT /api/files/signed/:token` in the upload route). */
  signedPut: {
    access: "public",
    params: { token: { type: "string", max: 4096 } },
    async handler(this: Self, ctx: Ctx<{ token: string }>) {
      const source = ctx.stream as Readable | null;
      try {
        await this.putSigned(ctx, source);
        return null;
      } catch (err) {
        // Refused before (or while) reading: let the rest of the body flow away instead of
        // piling up here (a remote stream) or leaving the request unread (a local one).
        if (source && !source.destroyed) source.resume();
        throw err;
      }
    },
  },

  /** The local store's presigned GET. */
  signedGet: {
    rest: "GET /signed/:token",
    access: "public",
    params: { $$strict: true, token: { type: "string", max: 4096 } },
    async handler(this: Self, ctx: Ctx<{ token: string }>) {
      const store = localStore(this.store);
      const claims = verifySigned(store, ctx.params.token, "GET");
      let object;
      try {
        object = await store.get(claims.k);
      } catch (err) {
        if (err instanceof ObjectNotFoundError || err instanceof InvalidKeyError) throw notFound("File");
        throw err;
      }
      ctx.meta.$responseType = claims.t;
      ctx.meta.$responseHeaders = downloadHeaders({ filename: claims.f ?? "file", size: object.size });
      return object.stream;
    },
  },
};

export const directUploadMethods = {
  /** Check a signed PUT against its URL and the file, then store the body. */
  async putSigned(this: Self, ctx: Ctx<{ token: string }>, source: Readable | null): Promise<void> {
    const store = localStore(this.store);
    const claims = verifySigned(store, ctx.params.token, "PUT");
    if (normalizeType(ctx.meta.uploadContentType) !== claims.t) {
      throw signedUrlRefused(`This URL takes Content-Type: ${claims.t}.`);
    }
    if (ctx.meta.uploadContentLength === undefined) {
      throw new Errors.MoleculerClientError("Send the body with a Content-Length.", 411, "LENGTH_REQUIRED");
    }
    if (Number(ctx.meta.uploadContentLength) !== claims.n) throw signedUrlRefused(`This URL takes exactly ${claims.n} bytes.`);
    const row = await this.adapter.model.findOne({ where: { key: claims.k } });
    if (!row) throw notFound("File");
    if (plain(row).status !== "pending") throw conflict("This file is complete; its content can no longer change.", "FILE_COMPLETE");
    if (!source) throw new Errors.MoleculerClientError("Send the content as the request body.", 400, "BODY_MISSING");
    try {
      await store.put(claims.k, this.guard(source), { contentType: claims.t, size: claims.n });
    } catch (err) {
      throw uploadFailure(err, (m, e) => this.logger.error(m, e));
    }
  },

  /** Read a presigned upload once: it must have the announced size and type; returns its hash. */
  async verifyContent(this: Self, file: FileRecord): Promise<{ size: number; sha256: string }> {
    const info = await this.store.head(file.key);
    if (!info) throw conflict("Nothing has been uploaded to this file's URL yet.", "UPLOAD_MISSING");
    if (info.size !== file.size) {
      await this.dropQuietly(file.key);
      throw conflict(`The upload has ${info.size} bytes, not the ${file.size} announced; upload it again.`, "UPLOAD_SIZE_MISMATCH", {
        expected: file.size,
        actual: info.size,
      });
    }
    const object = await this.store.get(file.key);
    const { head, stream } = await peek(object.stream, SNIFF_BYTES);
    const decision = decideType(file.contentType, head, cfg.storage.allowedTypes);
    if (!decision.ok) {
      object.stream.destroy();
      await this.dropQuietly(file.key);
      throw unsupportedType(decision.message, { declared: decision.declared, detected: decision.detected });
    }
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    if (size !== file.size) throw conflict("The upload changed while it was being checked; complete it again.", "UPLOAD_CHANGED");
    return { size, sha256: hash.digest("hex") };
  },
};
