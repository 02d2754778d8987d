/** Money is integer minor units everywhere; this formats it for people. */
export function formatMoney(cents: number, currency: string): string {
  return new Intl.NumberFormat("en-IE", { style: "currency", currency }).format(cents / 100);
}
