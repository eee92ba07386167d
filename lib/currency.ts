/** ISO 4217 currency codes and money helpers. Money is always integer minor units. */
const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

export function isCurrency(code: unknown): code is string {
  return typeof code === "string" && /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code);
}
