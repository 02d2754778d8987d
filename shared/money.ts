/** Money is integer minor units everywhere; this formats it for people. */

// Building an Intl.NumberFormat costs far more than using one (it showed in the worker's profile,
// once per line of every confirmation email): one per currency, kept.
const formats = new Map<string, Intl.NumberFormat>();

export function formatMoney(cents: number, currency: string): string {
  let format = formats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat("en-IE", { style: "currency", currency });
    formats.set(currency, format);
  }
  return format.format(cents / 100);
}
