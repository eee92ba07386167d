/**
 * Product images: admins attach uploaded image files to a product (`images`, ordered ids,
 * at most MAX_PRODUCT_IMAGES), detach and reorder them. The rules are in domain/images.ts;
 * the storage service checks the file (ready, an image) and makes it public while the
 * product shows it (`storage.link` / `storage.unlink` with the holder `product:<id>`).
 *
 * Every product response carries `images` (file ids) and `imageUrls` (`/api/files/<id>`,
 * downloadable by anyone), leaving out ids the storage service no longer confirms: a file
 * removed while no products replica heard `files.removed` disappears from responses at the
 * next uncached read, and from the row at the product's next image change.
 *
 * `files.removed` is handled by one replica (balanced group "products"): the file is dropped
 * from every product that shows it, idempotently, and the cached reads are cleaned.
 */
import type { ActionSchema, Context, Service } from "moleculer";
import { QueryTypes, type Model, type Transaction } from "sequelize";
import type { DbMethods, DbVars } from "../../mixins/db.mixin.ts";
import type { ShopMeta } from "../../types/moleculer.d.ts";
import { invalid, notFound } from "../../lib/errors.ts";
import { isUuid } from "../../lib/listing.ts";
import {
  addImage,
  dropGone,
  fileUrl,
  goneIds,
  parseImages,
  productHolder,
  removeImage,
  reorderImages,
  MAX_PRODUCT_IMAGES,
} from "../../domain/images.ts";
import type { Product, ProductsSettings, ProductView } from "./types.ts";

export interface ImageMethods extends DbMethods<Product> {
  /** Products as they leave the service: viewable `images` and their `imageUrls`. */
  present(ctx: Context, products: Product[]): Promise<ProductView[]>;
  /** One product as it leaves the service. */
  presentOne(ctx: Context, product: Product): Promise<ProductView>;
  /** The ids of `ids` that the storage service does not confirm as viewable (none when it cannot be asked). */
  goneImages(ctx: Context, ids: string[]): Promise<Set<string>>;
  /** Drop a removed file from every product that shows it. */
  forgetFile(ctx: Context, fileId: string): Promise<number>;
}
type Self = Service<ProductsSettings> & ImageMethods & DbVars;

const ID = { type: "string", max: 64 } as const;
/** Asking the storage service must not hold a catalogue read up for long. */
const STORAGE_CALL = { retries: 0, timeout: 2000 };

/** The product's row, locked until the transaction ends; 404 when there is none. */
async function lockProduct(self: Self, id: string, transaction: Transaction): Promise<Model> {
  const row = isUuid(id) ? await self.adapter.model.findByPk(id, { transaction, lock: transaction.LOCK.UPDATE }) : null;
  if (!row) throw notFound("Product", id);
  return row;
}

/**
 * In one transaction, under the product's row lock: `edit` turns its image list into the new
 * one (or throws); a list that differs is saved and `products.updated` goes out after commit.
 */
async function editImages(
  self: Self,
  ctx: Context,
  id: string,
  edit: (before: string[]) => string[],
): Promise<{ product: Product; changed: boolean }> {
  return self.inTransaction(ctx, async (transaction, emitAfterCommit) => {
    const row = await lockProduct(self, id, transaction);
    const before = parseImages(row.get("images"));
    const images = edit(before);
    const changed = images.join() !== before.join();
    if (changed) {
      await row.update({ images }, { transaction });
      emitAfterCommit("products.updated", self.toPublic(row));
    }
    return { product: self.toPublic(row), changed };
  });
}

async function storedImages(self: Self, id: string): Promise<string[]> {
  const row = await self.findRow(id);
  if (!row) throw notFound("Product", id);
  return parseImages(row.get("images"));
}

/** A stored time as its JSON text (what JSON.stringify writes for a Date); a string is one already. */
const isoDate = (value: Date | string): string => (value instanceof Date ? value.toISOString() : value);

export const imageMethods = {
  async present(this: Self, ctx: Context, products: Product[]): Promise<ProductView[]> {
    const ids = [...new Set(products.flatMap((p) => parseImages(p.images)))];
    const gone = await this.goneImages(ctx, ids);
    return products.map((p) => {
      const images = dropGone(parseImages(p.images), gone);
      // Dates as the JSON they become: a cached read then serialises strings, not Dates, on every hit.
      return { ...p, createdAt: isoDate(p.createdAt), updatedAt: isoDate(p.updatedAt), images, imageUrls: images.map(fileUrl) };
    });
  },

  async presentOne(this: Self, ctx: Context, product: Product): Promise<ProductView> {
    return (await this.present(ctx, [product]))[0]!;
  },

  async goneImages(this: Self, ctx: Context, ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    try {
      return goneIds(ids, await ctx.call<string[], { ids: string[] }>("storage.publicIds", { ids }, STORAGE_CALL));
    } catch (err) {
      // The catalogue stays up without the storage service: its images are shown unchecked.
      this.logger.warn(`Could not check product images with the storage service: ${(err as Error).message}`);
      return new Set();
    }
  },

  async forgetFile(this: Self, ctx: Context, fileId: string): Promise<number> {
    // The JSON text holds each id in quotes (a uuid has no LIKE wildcards); the same SQL on
    // PostgreSQL and SQLite. Each candidate is then changed under its row lock.
    const candidates = await this.adapter.db.query<{ id: string }>(
      `SELECT id FROM products WHERE CAST(images AS TEXT) LIKE :pattern ORDER BY id`,
      {
        replacements: { pattern: `%"${fileId}"%` },
        type: QueryTypes.SELECT,
      },
    );
    if (!candidates.length) return 0;
    return this.inTransaction(ctx, async (transaction, emitAfterCommit) => {
      let changed = 0;
      for (const candidate of candidates) {
        const row = await this.adapter.model.findByPk(candidate.id, { transaction, lock: transaction.LOCK.UPDATE });
        if (!row) continue;
        const change = removeImage(parseImages(row.get("images")), fileId);
        if (!change.changed) continue;
        await row.update({ images: change.images }, { transaction });
        emitAfterCommit("products.updated", this.toPublic(row));
        changed++;
      }
      return changed;
    });
  },
};

/** Handled by one replica of the products service (a balanced group), not by every one. */
export const onFileRemoved = {
  group: "products",
  async handler(this: Self, ctx: Context<{ file?: { id?: unknown } }>) {
    const fileId = ctx.params?.file?.id;
    if (!isUuid(fileId)) return;
    const changed = await this.forgetFile(ctx, fileId.toLowerCase());
    if (changed) this.logger.info(`File ${fileId} was removed: detached from ${changed} product(s).`);
  },
};

export const imageActions: Record<string, ActionSchema<Self>> = {
  /** POST /api/products/:id/images {fileId}: show an uploaded image (last in the list). */
  attachImage: {
    rest: "POST /:id/images",
    access: "admin",
    params: { $$strict: true, id: ID, fileId: { type: "uuid" } },
    async handler(this: Self, ctx: Context<{ id: string; fileId: string }, ShopMeta>) {
      const { id } = ctx.params;
      const fileId = ctx.params.fileId.toLowerCase();
      const stored = await storedImages(this, id);
      // Ids whose files went while nobody listened are pruned here, so they do not count.
      const gone = await this.goneImages(ctx, stored);
      const precheck = addImage(dropGone(stored, gone), fileId);
      if (!precheck.ok) throw invalid("fileId", precheck.message, precheck.type);

      const holder = productHolder(id);
      // The admin's own upload, or a picture already in the catalogue: never another user's private file.
      const linked = await ctx.call<{ created: boolean }, object>("storage.link", {
        id: fileId,
        holder,
        ownerId: ctx.meta.user!.id,
        orProductImage: true,
      });
      try {
        const { product } = await editImages(this, ctx, id, (before) => {
          const change = addImage(dropGone(before, gone), fileId);
          if (!change.ok) throw invalid("fileId", change.message, change.type);
          return change.images;
        });
        return this.presentOne(ctx, product);
      } catch (err) {
        // Compensation: the product does not show the file, so this link must not keep it public.
        if (linked.created) {
          await ctx
            .call("storage.unlink", { id: fileId, holder })
            .catch((e: unknown) => this.logger.warn(`Could not release file ${fileId} for product ${id}:`, e));
        }
        throw err;
      }
    },
  },

  /** DELETE /api/products/:id/images/:fileId: the product no longer shows it (the file itself stays). */
  detachImage: {
    rest: "DELETE /:id/images/:fileId",
    access: "admin",
    params: { $$strict: true, id: ID, fileId: ID },
    async handler(this: Self, ctx: Context<{ id: string; fileId: string }, ShopMeta>) {
      const { id } = ctx.params;
      const fileId = ctx.params.fileId.toLowerCase();
      const { changed: removed } = await editImages(this, ctx, id, (before) => removeImage(before, fileId).images);
      // Released even when the product did not list it (any more): a retry after a failed
      // release heals it, and releasing twice changes nothing.
      if (isUuid(fileId)) await ctx.call("storage.unlink", { id: fileId, holder: productHolder(id) });
      if (!removed) throw notFound("Image", fileId);
      ctx.meta.$statusCode = 204;
      return null;
    },
  },

  /** PATCH /api/products/:id/images {images}: the same ids in a new order. */
  reorderImages: {
    rest: "PATCH /:id/images",
    access: "admin",
    params: { $$strict: true, id: ID, images: { type: "array", items: { type: "uuid" }, max: MAX_PRODUCT_IMAGES } },
    async handler(this: Self, ctx: Context<{ id: string; images: string[] }, ShopMeta>) {
      const { id } = ctx.params;
      const proposed = ctx.params.images.map((i) => i.toLowerCase());
      const gone = await this.goneImages(ctx, await storedImages(this, id));
      const { product } = await editImages(this, ctx, id, (before) => {
        const change = reorderImages(dropGone(before, gone), proposed);
        if (!change.ok) throw invalid("images", change.message, change.type);
        return change.images;
      });
      return this.presentOne(ctx, product);
    },
  },
};
