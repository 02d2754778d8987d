/**
 * An order's short reference: what customers see in email subjects, on pages and in lists, and
 * what the operator's search accepts. It is the id's last 12 hex digits: a UUIDv7 begins with its
 * timestamp (orders of one minute share their first characters), and its last group is random, so
 * the end is what tells one order from another. Emails sent before this function already used it.
 */
export const ORDER_REFERENCE_LENGTH = 12;

export function orderReference(orderId: string): string {
  return orderId.slice(-ORDER_REFERENCE_LENGTH);
}
