/** Order shapes at the two boundaries: the web form and the workflow's input. */
import { z } from "zod";

export const orderIdSchema = z.uuid({ version: "v7", message: "is not a valid order id" });

export const skuSchema = z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,31}$/, "is not a valid SKU");

/** Stripe-style test payment methods: the browser never sends a card number to us. */
export const paymentMethods = {
  pm_card_visa: "Visa test card (succeeds)",
  pm_card_mastercard: "Mastercard test card (succeeds)",
  pm_card_flaky: "Test card: the provider times out twice, then it succeeds",
  pm_card_chargeDeclined: "Test card: declined",
} as const;
export type PaymentMethod = keyof typeof paymentMethods;
export const paymentMethodSchema = z.enum(Object.keys(paymentMethods) as [keyof typeof paymentMethods]);

export const MAX_QUANTITY_PER_LINE = 20;

export const orderLineSchema = z.object({
  sku: skuSchema,
  quantity: z.number().int().min(1).max(MAX_QUANTITY_PER_LINE),
});
export type OrderLine = z.infer<typeof orderLineSchema>;

/** Paid on the provider's own page (Stripe Checkout): the form sends no payment method at all. */
export const HOSTED_PAYMENT = "checkout";

export const placeOrderInputSchema = z.object({
  orderId: orderIdSchema,
  email: z.email().max(254),
  paymentMethod: z.union([paymentMethodSchema, z.literal(HOSTED_PAYMENT)]),
  lines: z.array(orderLineSchema).min(1).max(20),
});
export type PlaceOrderInput = z.infer<typeof placeOrderInputSchema>;

/**
 * The HTML form: flat string fields, quantities named `qty[SKU]`. With a hosted payment page the
 * payment method is ours to set (HOSTED_PAYMENT); otherwise it is one of the test cards.
 */
export const orderFormSchema = (hostedPayment: boolean) =>
  z
    .object({
      orderId: orderIdSchema,
      email: z
        .string()
        .trim()
        .min(1, "Enter your email address")
        .max(254, "Email is too long")
        .pipe(z.email("Enter a valid email address")),
      paymentMethod: hostedPayment
        ? z.literal(HOSTED_PAYMENT)
        : z.enum(Object.keys(paymentMethods) as [keyof typeof paymentMethods], { error: "Choose a payment method" }),
      quantities: z
        .record(
          skuSchema,
          z
            .string()
            .trim()
            .regex(/^\d{0,6}$/, "Quantity must be a whole number")
            .transform((v) => (v === "" ? 0 : Number(v)))
            .pipe(z.number().int().min(0).max(MAX_QUANTITY_PER_LINE, `At most ${MAX_QUANTITY_PER_LINE} per product`)),
        )
        // On the field itself, so it is reported together with the other fields' errors.
        .refine((q) => Object.values(q).some((n) => n > 0), "Choose at least one product"),
    })
    .transform(({ quantities, ...rest }) => ({
      ...rest,
      lines: Object.entries(quantities)
        .filter(([, q]) => q > 0)
        .map(([sku, quantity]) => ({ sku, quantity })),
    }));

export const orderStatusSchema = z.enum([
  "received",
  "reserved",
  "awaiting_payment",
  "paid",
  "awaiting_approval",
  "confirmed",
  "shipped",
  "fulfilled",
  "rejected",
  "cancelled",
  "failed",
  "refunded",
  // After fulfilment: a refund the bank has not confirmed yet, one that failed, a chargeback.
  "refund_pending",
  "refund_failed",
  "disputed",
]);
export type OrderStatus = z.infer<typeof orderStatusSchema>;
