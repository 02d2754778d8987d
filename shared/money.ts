/**
 * Money is integer minor units everywhere (fields say `…Cents` for history: ¥1,500 is 1500, €12.34
 * is 1234, 1.234 KWD is 1234); this formats it for people.
 */

interface CurrencyFormat {
  format: Intl.NumberFormat;
  digits: number;
}

// Building an Intl.NumberFormat costs far more than using one (it showed in the worker's profile,
// once per line of every confirmation email): one per currency, kept, with its digits beside it.
const formats = new Map<string, CurrencyFormat>();

function currencyFormat(currency: string): CurrencyFormat {
  let entry = formats.get(currency);
  if (!entry) {
    const format = new Intl.NumberFormat("en-IE", { style: "currency", currency });
    entry = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    formats.set(currency, entry);
  }
  return entry;
}

/** Digits after the decimal point in `currency`'s minor unit, from Intl's data: JPY 0, EUR 2, KWD 3. */
export function minorUnitDigits(currency: string): number {
  return currencyFormat(currency).digits;
}

/** `cents` (integer minor units of `currency`) as people read it: EUR 1234 → "€12.34", JPY 1500 → "JP¥1,500". */
export function formatMoney(cents: number, currency: string): string {
  const { format, digits } = currencyFormat(currency);
  return format.format(cents / 10 ** digits);
}
