import { parseSort, pageWindow, toPage, likePattern, isUuid, SortError, MAX_PAGE_SIZE } from "../../../lib/listing.ts";

describe("parseSort", () => {
  const allowed = ["name", "priceCents", "createdAt"];
  test("fallback, ascending and descending, duplicates dropped", () => {
    expect(parseSort(undefined, allowed, "-createdAt")).toEqual([["createdAt", "DESC"]]);
    expect(parseSort("-priceCents, name,+createdAt,name", allowed, "name")).toEqual([
      ["priceCents", "DESC"],
      ["name", "ASC"],
      ["createdAt", "ASC"],
    ]);
  });
  test("unknown fields are refused, naming the allowed ones", () => {
    expect(() => parseSort("password", allowed, "name")).toThrow(SortError);
    expect(() => parseSort("name,-stock", allowed, "name")).toThrow(/"stock".*name, priceCents, createdAt/);
  });
});

describe("pageWindow", () => {
  test("defaults, clamping and offsets", () => {
    expect(pageWindow(undefined, undefined)).toEqual({ page: 1, pageSize: 20, offset: 0, limit: 20 });
    expect(pageWindow(3, 10)).toEqual({ page: 3, pageSize: 10, offset: 20, limit: 10 });
    expect(pageWindow(1, 10_000).pageSize).toBe(MAX_PAGE_SIZE);
    expect(pageWindow(0, 0)).toEqual({ page: 1, pageSize: 1, offset: 0, limit: 1 });
  });
  test("toPage computes totalPages", () => {
    expect(toPage([1, 2], 41, 1, 20)).toEqual({ rows: [1, 2], total: 41, page: 1, pageSize: 20, totalPages: 3 });
    expect(toPage([], 0, 1, 20).totalPages).toBe(0);
  });
});

test("likePattern escapes wildcards", () => {
  expect(likePattern("50%_off\\")).toBe("%50\\%\\_off\\\\%");
});

test("isUuid", () => {
  expect(isUuid("9b2f7c1e-4a5b-4c6d-8e9f-0a1b2c3d4e5f")).toBe(true);
  expect(isUuid("1")).toBe(false);
  expect(isUuid("9b2f7c1e-4a5b-4c6d-8e9f-0a1b2c3d4e5f' OR 1=1")).toBe(false);
  expect(isUuid(42)).toBe(false);
});
