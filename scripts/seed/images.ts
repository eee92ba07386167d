/**
 * Product pictures for the demo shop, drawn here rather than shipped: a PNG per product (pngjs),
 * a soft gradient in its category's colour with the category's motif (a mug, a coffee bean, a
 * house, a notebook, mountains, a shirt) and a tint of its own, derived from the SKU so the same
 * product always gets the same picture. Shapes are signed-distance functions, antialiased.
 */
import { createHash } from "node:crypto";
import { PNG } from "pngjs";
import type { Category } from "./catalogue.ts";

export const IMAGE_SIZE = 400;

type Rgb = [number, number, number];
/** Signed distance from (x, y) to a shape, in pixels: negative inside. */
type Shape = (x: number, y: number) => number;

function hsl(h: number, s: number, l: number): Rgb {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

const circle =
  (cx: number, cy: number, r: number): Shape =>
  (x, y) =>
    Math.hypot(x - cx, y - cy) - r;
const ellipse =
  (cx: number, cy: number, rx: number, ry: number): Shape =>
  (x, y) =>
    (Math.hypot((x - cx) / rx, (y - cy) / ry) - 1) * Math.min(rx, ry);
function box(cx: number, cy: number, hw: number, hh: number, radius = 0): Shape {
  return (x, y) => {
    const dx = Math.abs(x - cx) - hw + radius;
    const dy = Math.abs(y - cy) - hh + radius;
    return Math.hypot(Math.max(dx, 0), Math.max(dy, 0)) + Math.min(Math.max(dx, dy), 0) - radius;
  };
}
/** A triangle given by three corners (counter-clockwise or not). */
function triangle(a: [number, number], b: [number, number], c: [number, number]): Shape {
  const edges = [
    [a, b],
    [b, c],
    [c, a],
  ] as const;
  const sign = Math.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]));
  return (x, y) => {
    let inside = true;
    let best = Infinity;
    for (const [p, q] of edges) {
      const ex = q[0] - p[0];
      const ey = q[1] - p[1];
      const t = Math.max(0, Math.min(1, ((x - p[0]) * ex + (y - p[1]) * ey) / (ex * ex + ey * ey)));
      best = Math.min(best, Math.hypot(x - p[0] - t * ex, y - p[1] - t * ey));
      if (sign * (ex * (y - p[1]) - ey * (x - p[0])) < 0) inside = false;
    }
    return inside ? -best : best;
  };
}
function union(...shapes: Shape[]): Shape {
  return (x, y) => {
    let d = Infinity;
    for (const shape of shapes) d = Math.min(d, shape(x, y));
    return d;
  };
}
const subtract =
  (shape: Shape, hole: Shape): Shape =>
  (x, y) =>
    Math.max(shape(x, y), -hole(x, y));

/** The motif of a category, centred, about half the picture wide; `v` (0..1) varies it a little per product. */
function motif(kind: Category["motif"], v: number): { body: Shape; detail: Shape } {
  const c = IMAGE_SIZE / 2;
  const s = IMAGE_SIZE * (0.2 + 0.05 * v);
  switch (kind) {
    case "mug":
      return {
        body: union(
          box(c - s * 0.15, c + s * 0.1, s * 0.75, s * 0.9, s * 0.18),
          subtract(circle(c + s * 0.7, c + s * 0.05, s * 0.45), circle(c + s * 0.7, c + s * 0.05, s * 0.25)),
        ),
        detail: box(c - s * 0.15, c - s * 0.62, s * 0.62, s * 0.08, s * 0.06),
      };
    case "bean":
      return { body: ellipse(c, c, s * 0.75, s * 1.05), detail: box(c, c, s * 0.06, s * 0.8, s * 0.06) };
    case "house":
      return {
        body: union(
          triangle([c - s * 1.15, c - s * 0.1], [c + s * 1.15, c - s * 0.1], [c, c - s * 1.1]),
          box(c, c + s * 0.45, s * 0.85, s * 0.6),
        ),
        detail: box(c, c + s * 0.6, s * 0.22, s * 0.45, s * 0.05),
      };
    case "notebook":
      return {
        body: box(c, c, s * 0.8, s * 1.05, s * 0.08),
        detail: union(...[-0.5, -0.2, 0.1, 0.4, 0.7].map((k) => box(c + s * 0.1, c + k * s, s * 0.5, s * 0.035))),
      };
    case "mountain":
      return {
        body: union(
          triangle([c - s * 1.4, c + s * 0.8], [c + s * 0.5, c + s * 0.8], [c - s * 0.45, c - s * 0.8]),
          triangle([c - s * 0.2, c + s * 0.8], [c + s * 1.4, c + s * 0.8], [c + s * 0.6, c - s * 0.3]),
        ),
        detail: triangle([c - s * 0.72, c - s * 0.35], [c - s * 0.18, c - s * 0.35], [c - s * 0.45, c - s * 0.8]),
      };
    case "shirt":
      return {
        body: subtract(
          union(
            box(c, c + s * 0.2, s * 0.65, s * 0.9, s * 0.08),
            triangle([c - s * 0.65, c - s * 0.7], [c - s * 1.3, c - s * 0.1], [c - s * 0.65, c + s * 0.1]),
            triangle([c + s * 0.65, c - s * 0.7], [c + s * 1.3, c - s * 0.1], [c + s * 0.65, c + s * 0.1]),
          ),
          circle(c, c - s * 0.72, s * 0.26),
        ),
        detail: box(c + s * 0.3, c - s * 0.2, s * 0.14, s * 0.12, s * 0.03),
      };
  }
}

/** `a` blended towards `b` by `t` (0..1). */
const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
/** Coverage of a pixel by a shape: 1 inside, 0 outside, a one-pixel ramp along the edge. */
const cover = (d: number) => Math.max(0, Math.min(1, 0.5 - d));

/** The PNG picture of a product (deterministic: same SKU and category, same bytes). */
export function productImage(sku: string, category: Category): Buffer {
  const digest = createHash("sha256").update(sku).digest();
  const v = digest[0]! / 255;
  const hue = (category.hue + (digest[1]! / 255 - 0.5) * 40 + 360) % 360;
  const top = hsl(hue, 0.45, 0.9);
  const bottom = hsl(hue, 0.5, 0.78);
  const ink = hsl(hue, 0.55, 0.32 + 0.1 * v);
  const accent = hsl((hue + 180) % 360, 0.5, 0.86);
  const shadow = hsl(hue, 0.35, 0.68);
  const { body, detail } = motif(category.motif, v);
  const size = IMAGE_SIZE;
  const png = new PNG({ width: size, height: size, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.alloc(size * size * 3);
  const offset = size * 0.025;
  // The motif stays within the middle of the picture: outside it, only the gradient is drawn.
  const [from, to] = [size * 0.1, size * 0.9];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let colour = mix(top, bottom, y / size);
      if (x > from && x < to && y > from && y < to) {
        colour = mix(colour, shadow, 0.8 * cover(body(x - offset, y - offset)));
        colour = mix(colour, ink, cover(body(x, y)));
        colour = mix(colour, accent, cover(detail(x, y)));
      }
      const i = (y * size + x) * 3;
      png.data[i] = Math.round(colour[0]);
      png.data[i + 1] = Math.round(colour[1]);
      png.data[i + 2] = Math.round(colour[2]);
    }
  }
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}
