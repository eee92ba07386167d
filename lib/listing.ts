/**
 * Pure helpers for list endpoints: page maths and the `sort` parameter.
 * `?sort=-priceCents,name` → [["priceCents","DESC"],["name","ASC"]]; only listed fields are allowed.
 */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** The validation rules of `?page=&pageSize=&sort=` shared by every list action. */
export const PAGE_PARAMS = {
  page: { type: "number", integer: true, min: 1, max: 100_000, convert: true, optional: true },
  pageSize: { type: "number", integer: true, min: 1, convert: true, optional: true },
  sort: { type: "string", max: 200, optional: true },
} as const;

export interface Page<T> {
  rows: T[];
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

export class SortError extends Error {
  readonly field: string;
  readonly allowed: readonly string[];
  constructor(field: string, allowed: readonly string[]) {
    super(`Cannot sort by "${field}": use one of ${allowed.join(", ")} (prefix with - for descending).`);
    this.field = field;
    this.allowed = allowed;
  }
}

export function parseSort(sort: string | undefined, allowed: readonly string[], fallback: string): [string, "ASC" | "DESC"][] {
  const spec = sort?.trim() || fallback;
  const order: [string, "ASC" | "DESC"][] = [];
  for (const part of spec
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const desc = part.startsWith("-");
    const field = part.replace(/^[-+]/, "");
    if (!allowed.includes(field)) throw new SortError(field, allowed);
    if (!order.some(([f]) => f === field)) order.push([field, desc ? "DESC" : "ASC"]);
  }
  return order;
}

/** Clamp page and page size to sane bounds; pageSize above the cap is lowered to the cap. */
export function pageWindow(page: number | undefined, pageSize: number | undefined, max = MAX_PAGE_SIZE) {
  const size = Math.min(Math.max(1, Math.trunc(pageSize ?? DEFAULT_PAGE_SIZE)), max);
  const p = Math.max(1, Math.trunc(page ?? 1));
  return { page: p, pageSize: size, offset: (p - 1) * size, limit: size };
}

export function toPage<T>(rows: T[], total: number, page: number, pageSize: number): Page<T> {
  return { rows, total, page, pageSize, totalPages: Math.ceil(total / pageSize) };
}

/** Escape LIKE wildcards so a search for "50%" matches the text "50%", not everything. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}
