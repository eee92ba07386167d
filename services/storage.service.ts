/**
 * storage: files that users upload (product images, avatars, documents) and their metadata.
 *
 * Contents live in an ObjectStore (integrations/storage): S3 when S3_BUCKET is set, a local
 * folder otherwise. The `files` table (migration 0005) holds who owns what under which
 * server-generated key; the key never comes from a client and is never shown to one.
 *
 * Two ways in:
 *  - `POST /api/files` (multipart): the gateway streams the file part to `upload`, possibly
 *    on another node over the transporter; the type is checked on the first bytes, the size
 *    while streaming (413 as soon as it is exceeded), the SHA-256 computed on the way to the
 *    store. Nothing is buffered beyond one S3 part.
 *  - `POST /api/files/presign` + PUT to the returned URL + `POST /api/files/:id/complete`
 *    (storage/direct-upload.actions.ts):
 *    the content goes straight to S3 (or, with the local store, to an HMAC-signed gateway
 *    URL); completing checks the size, the type and computes the SHA-256 by reading it once.
 *
 * A file is `pending` until its content is complete, then `ready`; only ready files are
 * listed, downloaded or described. Pending files that were never completed are swept.
 * Events after the change: `files.ready` and `files.removed` ({ file }).
 *
 * A removed account (the durable `user.removed`, consumed by one storage replica): its files
 * go, except product images (catalogue content that outlives the admin who uploaded it).
 *
 * Product images and avatars (storage/links.actions.ts): while a product or a user's avatar
 * links a file, the file is `public` and anyone may download it, without credentials.
 */
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import { ownedEntity, ownedScope } from "../middlewares/ownership.ts";
import { DataTypes, Op, type Model, type WhereOptions } from "sequelize";
import { DbMixin } from "../mixins/db.mixin.ts";
import { DurableEventsMixin } from "../mixins/durable-events.mixin.ts";
import { shopTopology } from "../mixins/durable-topology.ts";
import { outlivesOwner } from "../domain/images.ts";
import { notFound } from "../lib/errors.ts";
import { getConfig } from "../lib/config.ts";
import { every } from "../lib/every.ts";
import { isUuid } from "../lib/listing.ts";
import { createObjectStore, ObjectNotFoundError, ObjectStoreUnavailableError } from "../integrations/storage/index.ts";
import { decideType, SNIFF_BYTES } from "./storage/content-types.ts";
import { sanitizeFilename } from "./storage/filenames.ts";
import { peek, UploadGuard } from "./storage/streams.ts";
import { asStoreOutage, storageFailure, storeUnavailable, tooLarge, unsupportedType, uploadFailure, uploadIdle } from "./storage/errors.ts";
import { defineLinks, linkActions, linkMethods } from "./storage/links.actions.ts";
import { directUploadActions, directUploadMethods } from "./storage/direct-upload.actions.ts";
import {
  downloadHeaders,
  FILE_STATUSES,
  ID,
  OWN_FILES,
  plain,
  type Ctx,
  type FileRecord,
  type FileStatus,
  type Self,
  type StorageMethods,
  type StorageSettings,
  type StorageVars,
  type StoredFile,
} from "./storage/files.ts";

const cfg = getConfig();

/** No byte for this long: the upload is given up (a sender that died never ends its stream). */
export const UPLOAD_IDLE_MS = 120_000;
/** Lifetime of the presigned URL a download is redirected to (it is used at once). */
export const DOWNLOAD_URL_TTL_SEC = Math.min(60, cfg.storage.presignTtlSec);
/** Pending files older than this are abandoned uploads: swept with their objects. */
export const STALE_PENDING_MS = Math.max(cfg.storage.presignTtlSec * 1000, 3_600_000) + 3_600_000;
const SWEEP_EVERY_MS = 15 * 60_000;
/** How long shared caches may keep a public file's content (Cache-Control: public). */
export const PUBLIC_MAX_AGE_SEC = 300;

const StorageService: ServiceSchema<StorageSettings, StorageMethods, StorageVars> = {
  name: "storage",
  mixins: [
    DurableEventsMixin,
    DbMixin<StoredFile>({
      table: "files",
      attributes: {
        ownerId: { type: DataTypes.UUID, allowNull: false },
        filename: { type: DataTypes.STRING(255), allowNull: false },
        contentType: { type: DataTypes.STRING(255), allowNull: false },
        // BIGINT comes back from PostgreSQL as a string; sizes stay far below 2^53.
        size: {
          type: DataTypes.BIGINT,
          allowNull: true,
          get(this: Model) {
            const v = this.getDataValue("size");
            return v === null || v === undefined ? null : Number(v);
          },
        },
        sha256: { type: DataTypes.STRING(64), allowNull: true },
        key: { type: DataTypes.STRING(512), allowNull: false, unique: true },
        status: { type: DataTypes.STRING(16), allowNull: false },
        public: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      },
      publicFields: ["id", "ownerId", "filename", "contentType", "size", "sha256", "public", "createdAt"],
      sortable: ["createdAt", "filename", "size"],
      defaultSort: "-createdAt",
      searchable: ["filename"],
    }),
  ],

  settings: { rest: "/files" },

  // S3 down or not answering, wherever an action met it (completing an upload, deleting a file): a 503.
  hooks: {
    error: {
      "*"(_ctx: Context, err: unknown) {
        throw asStoreOutage(err);
      },
    },
  },

  async started() {
    // Here rather than in created(): the S3 store's SDK is imported on demand (integrations/storage).
    this.store = await createObjectStore(cfg);
    this.links = defineLinks(this.adapter.db);
    if (this.durable) {
      await this.durable.consume({
        ...shopTopology(cfg).storage,
        handle: async (message) => void (await this.purgeOwner((message.payload as { user: { id: string } }).user.id)),
        onDead: async (message, error) =>
          this.logger.error(
            `The files of removed user ${(message.payload as { user?: { id?: string } }).user?.id} ` +
              `could not be removed (dead-lettered): ${error}`,
          ),
        logger: this.logger,
      });
    }
    this.sweepTimer = every(SWEEP_EVERY_MS, "Sweeping abandoned uploads", this.logger, () => this.sweep());
  },

  stopped() {
    clearInterval(this.sweepTimer);
  },

  // Embedded mode only: in a cluster the durable queue is the one way in.
  events: {
    "user.removed": {
      async handler(this: Self, ctx: Context<{ user: { id: string } }>) {
        if (this.durable) return;
        await this.purgeOwner(ctx.params.user.id).catch((err: unknown) =>
          this.logger.error(`Removing the files of removed user ${ctx.params.user.id} failed:`, err),
        );
      },
    },
  },

  actions: {
    ...linkActions,
    ...directUploadActions,

    /**
     * The multipart upload (POST /api/files, aliased in the gateway's upload route): the file
     * part arrives as `ctx.stream`, with the part's name and type in `$filename`/`$mimetype`.
     */
    upload: {
      access: "authenticated",
      params: {
        $filename: { type: "string", max: 4096, optional: true },
        $mimetype: { type: "string", max: 255, optional: true },
      },
      async handler(this: Self, ctx: Ctx<{ $filename?: string; $mimetype?: string }>) {
        const source = ctx.stream as Readable | null;
        if (!source) throw new Errors.MoleculerClientError("Send the file as a part of a multipart/form-data body.", 400, "FILE_MISSING");
        const file = await this.receive(ctx, source, {
          ownerId: ctx.meta.user!.id,
          filename: sanitizeFilename(ctx.params.$filename),
          declaredType: ctx.params.$mimetype,
        });
        ctx.meta.$statusCode = 201;
        ctx.meta.$location = `/api/files/${file.id}`;
        return file;
      },
    },

    list: {
      rest: "GET /",
      access: "authenticated",
      ownership: { ...OWN_FILES, list: true },
      params: {
        $$strict: true,
        page: { type: "number", integer: true, min: 1, max: 100_000, convert: true, optional: true },
        pageSize: { type: "number", integer: true, min: 1, convert: true, optional: true },
        sort: { type: "string", max: 100, optional: true },
        search: { type: "string", max: 200, optional: true },
        ownerId: { type: "uuid", optional: true },
        status: { type: "enum", values: [...FILE_STATUSES], optional: true },
      },
      handler(
        this: Self,
        ctx: Ctx<{ page?: number; pageSize?: number; sort?: string; search?: string; ownerId?: string; status?: FileStatus }>,
      ) {
        const { page, pageSize, sort, search, ownerId, status } = ctx.params;
        // Everyone sees their own files, whatever they ask for; staff see everyone's (or one owner's).
        const where = { status: status ?? "ready", ...(ownerId ? { ownerId } : {}), ...ownedScope(ctx) };
        return this.findPage({ page, pageSize, sort, search, where });
      },
    },

    /**
     * The content: streamed (local store), or a 302 to a short-lived presigned URL (S3;
     * `?redirect=false` streams). Owners and admins see their files; anyone, also without
     * credentials, a public one (a product image, an avatar); anything else is a 404.
     */
    get: {
      rest: "GET /:id",
      access: "public",
      // Only ready files exist here; a public one (linked by a product or an avatar) for anybody.
      ownership: { ...OWN_FILES, anyone: { public: true }, only: { status: "ready" } },
      params: { $$strict: true, id: ID, redirect: { type: "boolean", convert: true, optional: true } },
      async handler(this: Self, ctx: Ctx<{ id: string; redirect?: boolean }>) {
        const file = ownedEntity<FileRecord>(ctx);
        if (this.store.driver === "s3" && ctx.params.redirect !== false) {
          ctx.meta.$statusCode = 302;
          ctx.meta.$location = await this.store.presignGet(file.key, DOWNLOAD_URL_TTL_SEC, {
            filename: file.filename,
            contentType: file.contentType,
          });
          ctx.meta.$responseHeaders = { "Cache-Control": "private, no-store" };
          return null;
        }
        let object;
        try {
          object = await this.store.get(file.key);
        } catch (err) {
          // Removed while this request read its row: the same 404 as a file that is gone.
          if (err instanceof ObjectNotFoundError && !(await this.adapter.model.findByPk(file.id))) throw notFound("File", file.id);
          if (err instanceof ObjectNotFoundError) this.logger.error(`File ${file.id} is ready but its object ${file.key} is missing.`);
          else if (err instanceof ObjectStoreUnavailableError) throw storeUnavailable();
          else this.logger.error(`Reading file ${file.id} failed:`, err);
          throw storageFailure();
        }
        ctx.meta.$responseType = file.contentType;
        ctx.meta.$responseHeaders = downloadHeaders({ filename: file.filename, size: object.size, sha256: file.sha256 });
        // A public file's content never changes (a new picture is a new file): shared caches may
        // keep it a few minutes, so unpublishing reaches them within that time.
        if (file.public) ctx.meta.$responseHeaders["Cache-Control"] = `public, max-age=${PUBLIC_MAX_AGE_SEC}`;
        return object.stream;
      },
    },

    remove: {
      rest: "DELETE /:id",
      access: "authenticated",
      // Also a file still uploading.
      ownership: OWN_FILES,
      params: { $$strict: true, id: ID },
      async handler(this: Self, ctx: Ctx<{ id: string }>) {
        const file = ownedEntity<FileRecord>(ctx);
        await this.removeFile(file, ctx);
        ctx.meta.$statusCode = 204;
        return null;
      },
    },

    /** Register a pending file and return a URL to PUT its content to directly. */
    /**
     * Metadata of ready files for other services (product images, avatars): those of `ids`
     * that exist, in that order; with `ownerId`, only that owner's.
     */
    describe: {
      access: "internal",
      idempotent: true,
      visibility: "public",
      params: {
        $$strict: true,
        ids: { type: "array", items: { type: "string", max: 64 }, max: 100 },
        ownerId: { type: "string", max: 64, optional: true },
      },
      async handler(this: Self, ctx: Ctx<{ ids: string[]; ownerId?: string }>) {
        const ids = ctx.params.ids.filter(isUuid);
        if (!ids.length) return [];
        const where: Record<string, unknown> = { id: { [Op.in]: ids }, status: "ready" };
        if (ctx.params.ownerId !== undefined) where.ownerId = ctx.params.ownerId;
        const rows = await this.adapter.model.findAll({ where: where as WhereOptions });
        const byId = new Map(rows.map((r) => [plain(r).id, this.toPublic(r)]));
        return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
      },
    },

    /** Remove abandoned pending files now (also runs every 15 minutes). */
    sweep: {
      access: "internal",
      visibility: "public",
      async handler(this: Self) {
        return { removed: await this.sweep() };
      },
    },
  },

  methods: {
    ...linkMethods,
    ...directUploadMethods,

    guard(this: Self, source: Readable): Readable {
      const guard = new UploadGuard({
        maxBytes: cfg.storage.maxBytes,
        idleMs: UPLOAD_IDLE_MS,
        tooLarge: () => tooLarge(cfg.storage.maxBytes),
        idle: () => uploadIdle(UPLOAD_IDLE_MS),
      });
      // Errors travel both ways: a failing source fails the guard, a failing guard stops the source.
      source.on("error", (err) => guard.destroy(err));
      guard.on("error", () => source.destroy());
      return source.pipe(guard);
    },

    /** Store a streamed upload: check its type on the first bytes, then stream it to the store. */
    async receive(this: Self, ctx: Ctx<unknown>, source: Readable, file: { ownerId: string; filename: string; declaredType: unknown }) {
      const guarded = this.guard(source);
      let id: string | undefined;
      let key: string | undefined;
      let objectStored = false;
      try {
        const { head, stream } = await peek(guarded, SNIFF_BYTES);
        const decision = decideType(file.declaredType, head, cfg.storage.allowedTypes);
        if (!decision.ok) {
          throw unsupportedType(decision.message, { declared: decision.declared, detected: decision.detected });
        }
        id = randomUUID();
        key = `files/${id}`;
        // Pending while the bytes flow: a node that dies mid-upload leaves a row the sweeper finds.
        await this.adapter.model.create({
          id,
          ownerId: file.ownerId,
          filename: file.filename,
          contentType: decision.contentType,
          size: null,
          sha256: null,
          key,
          status: "pending",
        });
        const stored = await this.store.put(key, stream, { contentType: decision.contentType });
        objectStored = true;
        return await this.markReady(ctx, id, stored);
      } catch (err) {
        // Stop reading: whatever is still on its way is discarded, not buffered.
        if (!guarded.destroyed) guarded.destroy();
        if (!source.destroyed) source.destroy();
        // Stored, but the row went meanwhile (deleted while pending): the object goes too.
        if (objectStored && key) await this.dropQuietly(key);
        if (id) {
          // The store leaves no partial object; the row goes too.
          await this.adapter.model
            .destroy({ where: { id } })
            .catch((e: unknown) => this.logger.warn(`Removing pending file ${id} failed:`, e));
        }
        throw uploadFailure(err, (m, e) => this.logger.error(m, e));
      }
    },

    /** pending → ready, once (compare-and-set): the event goes out only for the change that won. */
    async markReady(this: Self, ctx: Ctx<unknown>, id: string, values: { size: number; sha256: string; contentType?: string }) {
      const [changed] = await this.adapter.model.update({ ...values, status: "ready" }, { where: { id, status: "pending" } });
      const row = await this.findRow(id);
      if (!row) throw notFound("File", id);
      const file = this.toPublic(row);
      if (changed) ctx.emit("files.ready", { file });
      return file;
    },

    async dropQuietly(this: Self, key: string): Promise<void> {
      await this.store.delete(key).catch((err: unknown) => this.logger.warn(`Deleting object ${key} failed:`, err));
    },

    /** Delete a file: object first (if that fails the row stays, to try again), then row and links. */
    async removeFile(this: Self, file: FileRecord, emitter: { emit(event: string, payload: unknown): unknown }): Promise<boolean> {
      // The row first, then the object: a download never finds a file whose content is gone
      // (object first, a download during the delete was a 500). A node dying in between leaves
      // an object nobody can reach, not a file that cannot be read.
      const removed = await this.adapter.model.destroy({ where: { id: file.id } });
      // Whoever showed it hears `files.removed` and lets go; the links go with the file.
      await this.links.destroy({ where: { fileId: file.id } });
      await this.store
        .delete(file.key)
        .catch((err: unknown) => this.logger.warn(`File ${file.id} is removed but its object ${file.key} is not:`, err));
      if (removed && file.status === "ready") emitter.emit("files.removed", { file: this.toPublic(file) });
      return removed > 0;
    },

    /** A removed account's files: all of them go but product images. Idempotent (a redelivery finds less). */
    async purgeOwner(this: Self, ownerId: string): Promise<{ removed: number; kept: number }> {
      if (!isUuid(ownerId)) return { removed: 0, kept: 0 };
      let removed = 0;
      let kept = 0;
      const files = (await this.adapter.model.findAll({ where: { ownerId } })).map(plain);
      if (!files.length) return { removed, kept };
      // Who shows which of them, in one query.
      const holders = new Map<string, string[]>();
      for (const link of await this.links.findAll({
        where: { fileId: { [Op.in]: files.map((f) => f.id) } },
        attributes: ["fileId", "holder"],
      })) {
        const fileId = link.get("fileId") as string;
        holders.set(fileId, [...(holders.get(fileId) ?? []), link.get("holder") as string]);
      }
      for (const file of files) {
        if (outlivesOwner(ownerId, holders.get(file.id) ?? [])) kept++;
        else if (await this.removeFile(file, this.broker)) removed++;
      }
      if (removed || kept) this.logger.info(`Removed user ${ownerId}: ${removed} file(s) deleted, ${kept} kept (product images).`);
      return { removed, kept };
    },

    /** Pending files nobody completed: their objects (if any) and rows go. */
    async sweep(this: Self): Promise<number> {
      const cutoff = new Date(Date.now() - STALE_PENDING_MS);
      const rows = await this.adapter.model.findAll({ where: { status: "pending", updatedAt: { [Op.lt]: cutoff } }, limit: 500 });
      let removed = 0;
      for (const row of rows) {
        const file = plain(row);
        await this.store.delete(file.key);
        removed += await this.adapter.model.destroy({ where: { id: file.id, status: "pending" } });
      }
      if (removed) this.logger.info(`Swept ${removed} abandoned upload(s).`);
      return removed;
    },
  },
};

export default StorageService;
