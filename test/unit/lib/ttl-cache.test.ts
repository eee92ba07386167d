import { TtlCache } from "../../../lib/ttl-cache.ts";

function cache(maxEntries = 3) {
  let now = 1_000;
  const c = new TtlCache<string>({ ttlMs: 100, maxEntries, now: () => now });
  return { c, tick: (ms: number) => (now += ms) };
}

test("an entry is served until its time to live is over, then it is gone", () => {
  const { c, tick } = cache();
  c.set("a", "A");
  tick(99);
  expect(c.get("a")).toBe("A");
  tick(1);
  expect(c.get("a")).toBeUndefined();
  expect(c.size).toBe(0);
});

test("reading does not extend the time to live; setting again does", () => {
  const { c, tick } = cache();
  c.set("a", "A");
  tick(60);
  expect(c.get("a")).toBe("A");
  tick(60);
  expect(c.get("a")).toBeUndefined();
  c.set("a", "A2");
  tick(60);
  expect(c.get("a")).toBe("A2");
});

test("past the bound the least recently used entry goes", () => {
  const { c } = cache(3);
  c.set("a", "A");
  c.set("b", "B");
  c.set("c", "C");
  expect(c.get("a")).toBe("A"); // a is now the most recently used
  c.set("d", "D");
  expect(c.size).toBe(3);
  expect(c.get("b")).toBeUndefined();
  expect([c.get("a"), c.get("c"), c.get("d")]).toEqual(["A", "C", "D"]);
});

test("clear drops every entry", () => {
  const { c } = cache(5);
  for (const k of ["a1", "a2", "b1", "c1"]) c.set(k, k[0]!);
  c.clear();
  expect(c.size).toBe(0);
  expect([c.get("a1"), c.get("a2"), c.get("b1"), c.get("c1")]).toEqual([undefined, undefined, undefined, undefined]);
});

test("options are checked", () => {
  expect(() => new TtlCache({ ttlMs: 0, maxEntries: 1 })).toThrow(RangeError);
  expect(() => new TtlCache({ ttlMs: 1, maxEntries: 0 })).toThrow(RangeError);
});
