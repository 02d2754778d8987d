/**
 * Stock movements at the two boundaries: the operator's forms on `/ops/stock` and the Stock
 * service's `move` input. A restock adds units; a correction sets the units for sale to a count.
 */
import { z } from "zod";
import { skuSchema } from "./order.schema.ts";

export const MAX_STOCK_CHANGE = 100_000;

const reason = z.string().trim().min(1, "Give a reason").max(300, "At most 300 characters");

export const stockMovementInputSchema = z.object({
  movementId: z.uuid(),
  operator: z.string().trim().min(1).max(100),
  reason,
  change: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("restock"), units: z.number().int().min(1).max(MAX_STOCK_CHANGE) }),
    z.object({ kind: z.literal("correction"), count: z.number().int().min(0).max(MAX_STOCK_CHANGE) }),
  ]),
});
export type StockMovementInput = z.infer<typeof stockMovementInputSchema>;

/** `Stock/move`: a movement and the product it moves. */
export const stockMoveRequestSchema = stockMovementInputSchema.extend({ sku: skuSchema });

/** `Stock/move`'s answer: what the movement did. */
export interface StockMovementResult {
  /** False when this movement id was recorded before: the earlier movement's figures are returned. */
  applied: boolean;
  delta: number;
  /** Units for sale right after the movement. */
  stock: number;
}

const wholeNumber = (min: number, message: string) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,6}$/, "Enter a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min, message).max(MAX_STOCK_CHANGE, `At most ${MAX_STOCK_CHANGE}`));

/** The two forms on `/ops/stock`, flat string fields; `movementId` is the hidden field rendered with the form. */
export const stockFormSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("restock"),
    movementId: z.uuid("This form is not valid any more; reload the page"),
    units: wholeNumber(1, "Restock at least 1 unit"),
    reason,
  }),
  z.object({
    kind: z.literal("correction"),
    movementId: z.uuid("This form is not valid any more; reload the page"),
    count: wholeNumber(0, "The count cannot be negative"),
    reason,
  }),
]);
export type StockForm = z.output<typeof stockFormSchema>;
