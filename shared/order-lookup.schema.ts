/**
 * "Email me my orders": the form the web validates, the request it hands to the worker's
 * OrderLinks service, and the idempotency key both sides derive from that request.
 */
import { createHash } from "node:crypto";
import { z } from "zod";

export const lookupIdSchema = z.uuid({ version: "v7", message: "This form has expired: reload the page and try again" });

export const orderLookupFormSchema = z.object({
  lookupId: lookupIdSchema,
  email: z
    .string()
    .trim()
    .min(1, "Enter your email address")
    .max(254, "Email is too long")
    .pipe(z.email("Enter a valid email address"))
    .transform((e) => e.toLowerCase()),
});

export const orderLookupRequestSchema = z.object({ lookupId: lookupIdSchema, email: z.email().max(254) });
export type OrderLookupRequest = z.infer<typeof orderLookupRequestSchema>;

/**
 * One message per form submission and address: a double submit lands on the same Restate
 * invocation and the same `emails` row. The address enters the key only as a hash.
 */
export function orderLookupKey(req: OrderLookupRequest): string {
  const address = createHash("sha256").update(req.email.toLowerCase()).digest("hex").slice(0, 32);
  return `order-links:${req.lookupId}:${address}`;
}
