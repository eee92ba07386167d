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
  test("formatters are kept per (locale, currency): repeated and interleaved calls give each pair its own format", () => {
    for (let i = 0; i < 3; i++) {
      expect(formatMoney(1234, "JPY", "ja-JP")).toBe("￥1,234");
      expect(formatMoney(1234, "JPY")).toBe("JP¥1,234");
      expect(formatMoney(123456, "EUR", "de-DE")).toBe("1.234,56\u00a0€");
      expect(formatMoney(123456, "EUR")).toBe("€1,234.56");
      expect(minorDigits("KWD")).toBe(3);
    }
  });
  test("an unknown currency throws every time (nothing cached), and the caches stay right past their bound", () => {
    expect(() => formatMoney(1, "XXXX")).toThrow(RangeError);
    expect(() => formatMoney(1, "XXXX")).toThrow(RangeError);
    const currencies = Intl.supportedValuesOf("currency");
    const locales = ["en-GB", "de-DE"];
    expect(currencies.length * locales.length).toBeGreaterThan(256);
    for (const locale of locales)
      for (const currency of currencies) {
        const digits = minorDigits(currency);
        const plain = new Intl.NumberFormat(locale, {
          style: "currency",
          currency,
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
        });
        expect(formatMoney(12345, currency, locale)).toBe(plain.format(12345 / 10 ** digits));
      }
    expect(formatMoney(123456, "EUR")).toBe("€1,234.56");
  });
});
