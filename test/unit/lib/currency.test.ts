import { isCurrency } from "../../../lib/currency.ts";

test("isCurrency accepts ISO 4217 codes only", () => {
  expect(isCurrency("EUR")).toBe(true);
  expect(isCurrency("USD")).toBe(true);
  expect(isCurrency("eur")).toBe(false);
  expect(isCurrency("XYZ")).toBe(false);
  expect(isCurrency(978)).toBe(false);
});
