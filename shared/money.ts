/**
 * Money is integer minor units everywhere (fields say `…Cents` for history: ¥1,500 is 1500, €12.34
 * is 1234, 1.234 KWD is 1234); this formats it for people.
 */

interface CurrencyFormat {
  format: Intl.NumberFormat;
  /** Digits of the currency's minor unit, whatever the format shows. */
  digits: number;
}

// Building an Intl.NumberFormat costs far more than using one (it showed in the worker's profile,
// once per line of every confirmation email): one per currency and precision, kept, with the
// currency's digits beside it.
const formats = new Map<string, CurrencyFormat>();

function currencyFormat(currency: string, fractionDigits?: number): CurrencyFormat {
  const key = fractionDigits === undefined ? currency : `${currency}/${fractionDigits}`;
  let entry = formats.get(key);
  if (!entry) {
    if (fractionDigits === undefined) {
      const format = new Intl.NumberFormat("en-IE", { style: "currency", currency });
      entry = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    } else {
      const format = new Intl.NumberFormat("en-IE", {
        style: "currency",
        currency,
        minimumFractionDigits: fractionDigits,
        maximumFractionDigits: fractionDigits,
      });
      entry = { format, digits: currencyFormat(currency).digits };
    }
    formats.set(key, entry);
  }
  return entry;
}

/** Digits after the decimal point in `currency`'s minor unit, from Intl's data: JPY 0, EUR 2, KWD 3. */
export function minorUnitDigits(currency: string): number {
  return currencyFormat(currency).digits;
}

/**
 * `cents` (minor units of `currency`) as people read it: EUR 1234 → "€12.34", JPY 1500 → "JP¥1,500".
 * `fractionDigits` shows that many decimals instead of the currency's own, for an estimate that is
 * a fraction of a minor unit: USD 0.12 with 4 → "US$0.0012".
 */
export function formatMoney(cents: number, currency: string, opts?: { fractionDigits?: number }): string {
  const { format, digits } = currencyFormat(currency, opts?.fractionDigits);
  return format.format(cents / 10 ** digits);
}
