/**
 * The rules of product images and avatars (domain/images.ts): which files may be shown,
 * the ordered image list of a product, and what is left out when files are gone.
 */
import { randomUUID } from "node:crypto";
import {
  addImage,
  attachRefusal,
  avatarHolder,
  dropGone,
  fileUrl,
  goneIds,
  HOLDER_PATTERN,
  IMAGE_TYPES,
  isImageType,
  MAX_PRODUCT_IMAGES,
  outlivesOwner,
  parseImages,
  productHolder,
  removeImage,
  reorderImages,
} from "../../../domain/images.ts";

const owner = randomUUID();
const file = (over: Partial<{ ownerId: string; contentType: string; status: string }> = {}) => ({
  id: randomUUID(),
  ownerId: owner,
  contentType: "image/png",
  status: "ready",
  ...over,
});
const ids = (n: number) => Array.from({ length: n }, () => randomUUID());

describe("which files may be pictures", () => {
  test("raster images with a checked signature only; never SVG, PDF or text", () => {
    for (const t of ["image/png", "image/jpeg", "image/webp", "image/gif", "IMAGE/PNG", "image/jpeg; charset=binary"])
      expect([t, isImageType(t)]).toEqual([t, true]);
    for (const t of ["image/svg+xml", "application/pdf", "text/plain", "image/", "", null, undefined, 42])
      expect([t, isImageType(t)]).toEqual([t, false]);
    expect(IMAGE_TYPES).not.toContain("image/svg+xml");
  });

  test("a ready image may be attached by anyone allowed to (products: admins)", () => {
    expect(attachRefusal(file())).toBeNull();
    expect(attachRefusal(file({ contentType: "image/webp" }))).toBeNull();
  });

  test("missing, not ready, not an image: each its own reason", () => {
    expect(attachRefusal(null)).toMatchObject({ type: "fileNotFound" });
    expect(attachRefusal(file({ status: "pending" }))).toMatchObject({ type: "fileNotReady" });
    expect(attachRefusal(file({ contentType: "application/pdf" }))).toMatchObject({
      type: "notAnImage",
      message: expect.stringContaining("application/pdf"),
    });
    expect(attachRefusal(file({ contentType: "text/plain" }))?.type).toBe("notAnImage");
  });

  test("avatars: someone else's file is exactly as unknown as a missing one (existence is not revealed)", () => {
    expect(attachRefusal(file(), { ownerId: owner })).toBeNull();
    const theirs = attachRefusal(file({ ownerId: randomUUID() }), { ownerId: owner });
    expect(theirs).toEqual(attachRefusal(null, { ownerId: owner }));
    // ... also when theirs would be refused for another reason.
    expect(attachRefusal(file({ ownerId: randomUUID(), contentType: "text/plain", status: "pending" }), { ownerId: owner })?.type).toBe(
      "fileNotFound",
    );
  });

  test("product images: the admin's own upload, or a picture a product already shows; never another user's private file", () => {
    const theirs = file({ ownerId: randomUUID() });
    expect(attachRefusal(theirs, { ownerId: owner })).toMatchObject({ type: "fileNotFound" });
    expect(attachRefusal(theirs, { ownerId: owner, shownByProduct: false })).toMatchObject({ type: "fileNotFound" });
    expect(attachRefusal(theirs, { ownerId: owner, shownByProduct: true })).toBeNull();
    expect(attachRefusal(file({ ownerId: randomUUID(), status: "pending" }), { ownerId: owner, shownByProduct: true })).toMatchObject({
      type: "fileNotReady",
    });
  });
});

describe("a product's image list", () => {
  test("attach appends; attaching again changes nothing", () => {
    const [a, b] = ids(2);
    expect(addImage([], a!)).toEqual({ ok: true, images: [a], changed: true });
    expect(addImage([a!], b!)).toEqual({ ok: true, images: [a, b], changed: true });
    expect(addImage([a!, b!], a!)).toEqual({ ok: true, images: [a, b], changed: false });
  });

  test(`at most ${MAX_PRODUCT_IMAGES} images; an image already there is still fine at the limit`, () => {
    const full = ids(MAX_PRODUCT_IMAGES);
    expect(addImage(full.slice(0, -1), full.at(-1)!)).toMatchObject({ ok: true, changed: true });
    expect(addImage(full, randomUUID())).toEqual({
      ok: false,
      type: "tooManyImages",
      message: expect.stringContaining(String(MAX_PRODUCT_IMAGES)),
    });
    expect(addImage(full, full[3]!)).toMatchObject({ ok: true, changed: false });
    expect(addImage(ids(2), randomUUID(), 2)).toMatchObject({ ok: false, type: "tooManyImages" });
  });

  test("detach keeps the others in order; detaching what is not there is no change", () => {
    const [a, b, c] = ids(3);
    expect(removeImage([a!, b!, c!], b!)).toEqual({ images: [a, c], changed: true });
    expect(removeImage([a!, c!], b!)).toEqual({ images: [a, c], changed: false });
  });

  test("reorder: exactly the current ids, each once", () => {
    const [a, b, c] = ids(3);
    expect(reorderImages([a!, b!, c!], [c!, a!, b!])).toEqual({ ok: true, images: [c, a, b], changed: true });
    expect(reorderImages([a!, b!], [a!, b!])).toEqual({ ok: true, images: [a, b], changed: false });
    expect(reorderImages([], [])).toEqual({ ok: true, images: [], changed: false });
    for (const proposed of [[a!, b!], [a!, b!, c!, randomUUID()], [a!, a!, b!], [a!, b!, randomUUID()], []]) {
      expect(reorderImages([a!, b!, c!], proposed)).toMatchObject({ ok: false, type: "notAPermutation" });
    }
  });

  test("stored lists: JSON arrays (parsed or as text); anything else is no images", () => {
    const [a, b] = ids(2);
    expect(parseImages([a, b])).toEqual([a, b]);
    expect(parseImages(JSON.stringify([a, b]))).toEqual([a, b]);
    expect(parseImages([a, 7, null, b])).toEqual([a, b]);
    for (const v of [null, undefined, "", "not json", "{}", 12, { a }]) expect(parseImages(v)).toEqual([]);
  });
});

describe("files that went while nobody listened", () => {
  test("gone = asked about but not confirmed; the rest keep their order", () => {
    const [a, b, c] = ids(3);
    const gone = goneIds([a!, b!, c!], [c!, a!]);
    expect([...gone]).toEqual([b]);
    expect(dropGone([c!, b!, a!], gone)).toEqual([c, a]);
    expect(dropGone([a!, b!], new Set())).toEqual([a, b]);
    expect([...goneIds([], [])]).toEqual([]);
  });
});

test("holders and URLs", () => {
  const id = randomUUID();
  expect(productHolder(id.toUpperCase())).toBe(`product:${id}`);
  expect(avatarHolder(id)).toBe(`avatar:${id}`);
  const pattern = new RegExp(HOLDER_PATTERN);
  expect(pattern.test(productHolder(id))).toBe(true);
  expect(pattern.test(avatarHolder(id))).toBe(true);
  for (const bad of [`order:${id}`, `product:${id}x`, "product:", `avatar:../${id}`, `product:${id.toUpperCase()}`])
    expect([bad, pattern.test(bad)]).toEqual([bad, false]);
  expect(fileUrl(id)).toBe(`/api/files/${id}`);
});

test("a removed account's file outlives it only while someone else shows it", () => {
  const other = randomUUID();
  expect(outlivesOwner(owner, [])).toBe(false);
  expect(outlivesOwner(owner, [avatarHolder(owner)])).toBe(false);
  expect(outlivesOwner(owner, [avatarHolder(owner.toUpperCase())])).toBe(false);
  expect(outlivesOwner(owner, [productHolder(other)])).toBe(true);
  expect(outlivesOwner(owner, [avatarHolder(owner), productHolder(other)])).toBe(true);
  expect(outlivesOwner(owner, [avatarHolder(other)])).toBe(true); // someone else's avatar now
});
