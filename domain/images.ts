/**
 * Product images and avatars: which uploaded files may be shown as pictures, and the rules
 * of a product's ordered image list. Plain functions, no I/O: the storage service checks a
 * file with `attachRefusal` when a service links it; the products service edits its list with
 * `addImage` / `removeImage` / `reorderImages`. Unit-tested in test/unit/domain/images.test.ts.
 *
 * Visibility: a file is public (anyone may GET it, no credentials: `<img src>` sends none)
 * while at least one holder links it: a product (`product:<id>`) or a user's avatar
 * (`avatar:<userId>`). Unlinked files are their owner's (and admins') only.
 */

/** How many images one product may have. */
export const MAX_PRODUCT_IMAGES = 10;

/**
 * Types that may be published as a picture: raster formats whose signature the storage
 * service checks on upload. Never SVG (script inside an image) or anything else.
 */
export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"] as const;

export function isImageType(contentType: unknown): boolean {
  return typeof contentType === "string" && (IMAGE_TYPES as readonly string[]).includes(contentType.split(";")[0]!.trim().toLowerCase());
}

/** Who links a file, e.g. `product:<uuid>` or `avatar:<uuid>`. */
export const HOLDER_PATTERN = "^(product|avatar):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
export const productHolder = (productId: string) => `product:${productId.toLowerCase()}`;
export const avatarHolder = (userId: string) => `avatar:${userId.toLowerCase()}`;

/**
 * When an account is removed, which of its files stay: those the shop shows for someone else
 * (a product's image: catalogue content an admin uploaded). The account's own avatar and
 * everything unlinked go with the account.
 */
export function outlivesOwner(ownerId: string, holders: readonly string[]): boolean {
  return holders.some((h) => h !== avatarHolder(ownerId));
}

/** Where a client fetches a file (relative to the gateway's origin). */
export function fileUrl(fileId: string): string {
  return `/api/files/${fileId}`;
}

/** What the rules need to know about a file. */
export interface FileFacts {
  id: string;
  ownerId: string;
  contentType: string;
  status: string;
}

/** Why a file cannot be used as a picture (the caller reports it on its `fileId` field). */
export interface ImageRefusal {
  type: "fileNotFound" | "fileNotReady" | "notAnImage";
  message: string;
}

/**
 * Why `file` may not become a picture, or null when it may. With `ownerId` (avatars: the
 * caller; product images: the admin attaching it), a file of someone else is "not found",
 * exactly like one that does not exist, unless `shownByProduct` (already a product's image).
 */
export function attachRefusal(file: FileFacts | null, opts: { ownerId?: string; shownByProduct?: boolean } = {}): ImageRefusal | null {
  // Another user's file is as unknown as a missing one: attaching it would publish a private upload.
  // A picture a product already shows is catalogue content, public anyway: any admin may reuse it.
  const theirs = opts.ownerId !== undefined && file?.ownerId !== opts.ownerId && !opts.shownByProduct;
  if (!file || theirs) {
    return { type: "fileNotFound", message: "No such file: upload it with POST /api/files first." };
  }
  if (file.status !== "ready") return { type: "fileNotReady", message: "The file's upload is not complete yet." };
  if (!isImageType(file.contentType)) {
    return { type: "notAnImage", message: `The file is ${file.contentType}, not an image; use one of: ${IMAGE_TYPES.join(", ")}.` };
  }
  return null;
}

export type ListChange =
  { ok: true; images: string[]; changed: boolean } | { ok: false; type: "tooManyImages" | "notAPermutation"; message: string };

/**
 * A product's image ids as stored: a JSON array (PostgreSQL gives it parsed, SQLite may give
 * the text); anything unusable counts as no images.
 */
export function parseImages(value: unknown): string[] {
  let list = value;
  if (typeof list === "string") {
    try {
      list = JSON.parse(list);
    } catch {
      return [];
    }
  }
  return Array.isArray(list) ? list.filter((v): v is string => typeof v === "string") : [];
}

/** Append `fileId` (attaching twice changes nothing); more than `max` images is refused. */
export function addImage(images: readonly string[], fileId: string, max = MAX_PRODUCT_IMAGES): ListChange {
  if (images.includes(fileId)) return { ok: true, images: [...images], changed: false };
  if (images.length >= max) return { ok: false, type: "tooManyImages", message: `A product has at most ${max} images; detach one first.` };
  return { ok: true, images: [...images, fileId], changed: true };
}

/** Drop `fileId` wherever it is; the others keep their order. */
export function removeImage(images: readonly string[], fileId: string): { images: string[]; changed: boolean } {
  const rest = images.filter((id) => id !== fileId);
  return { images: rest, changed: rest.length !== images.length };
}

/**
 * A new order for the same images: `proposed` must hold each current id exactly once
 * (attach and detach are their own operations, so a stale client cannot drop an image
 * someone else just added).
 */
export function reorderImages(current: readonly string[], proposed: readonly string[]): ListChange {
  const same =
    proposed.length === current.length && new Set(proposed).size === proposed.length && proposed.every((id) => current.includes(id));
  if (!same) {
    return {
      ok: false,
      type: "notAPermutation",
      message: "Send the product's current image ids, each once, in the new order (attach and detach images with their own routes).",
    };
  }
  return { ok: true, images: [...proposed], changed: proposed.some((id, i) => id !== current[i]) };
}

/**
 * Of the ids a service asked the storage service about (`asked`), those it did not confirm as
 * viewable (`viewable`): files removed while the service missed `files.removed`, or unpublished.
 */
export function goneIds(asked: readonly string[], viewable: readonly string[]): Set<string> {
  const ok = new Set(viewable);
  return new Set(asked.filter((id) => !ok.has(id)));
}

/** `images` without the gone ones, in their order. */
export function dropGone(images: readonly string[], gone: ReadonlySet<string>): string[] {
  return gone.size ? images.filter((id) => !gone.has(id)) : [...images];
}
