import { lineTotalCents, sumCents, formatMoney, minorDigits, MoneyError } from "../../../lib/money.ts";

describe("money in integer minor units", () => {
  test("line totals and sums stay exact integers", () => {
    expect(lineTotalCents(1999, 3)).toBe(5997);
    expect(sumCents([1, 2, 3])).toBe(6);
    // 0.1 + 0.2 problems cannot happen: fractional cents are refused
    expect(() => lineTotalCents(19.99, 1)).toThrow(MoneyError);
    expect(() => sumCents([0.1, 0.2])).toThrow(MoneyError);
    expect(() => lineTotalCents(Number.MAX_SAFE_INTEGER, 2)).toThrow(/line total/);
    expect(() => lineTotalCents(100, -1)).toThrow(/quantity/);
  });
  test("formatting follows each currency's minor digits", () => {
    expect(minorDigits("EUR")).toBe(2);
    expect(minorDigits("JPY")).toBe(0);
    expect(minorDigits("KWD")).toBe(3);
    expect(formatMoney(123456, "EUR")).toBe("€1,234.56");
    expect(formatMoney(5, "EUR")).toBe("€0.05");
    expect(formatMoney(1234, "JPY")).toBe("JP¥1,234");
    expect(formatMoney(1234, "JPY", "ja-JP")).toBe("￥1,234");
    expect(formatMoney(1234, "KWD")).toBe("KWD\u00a01.234");
    expect(formatMoney(-250, "USD")).toBe("-US$2.50");
    expect(formatMoney(900719925474099, "EUR")).toBe("€9,007,199,254,740.99");
  });
});
