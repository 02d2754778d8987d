/**
 * The order workflow's contract with its parts: what it is given (its adapters and settings), what
 * its first step journals, and what it answers. In a module of its own so that the workflow, its
 * steps (order-run.ts) and its money (order-payments.ts) all read them without importing each other
 * in a circle.
 */
import type { OrdersRepo, StoredOrder } from "./adapters/orders.repo.ts";
import type { Charge, PaymentProvider } from "./adapters/payment-provider.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import type { Mailer } from "./adapters/smtp-mailer.ts";
import type { OrderReservation, StockRepo } from "./adapters/stock.repo.ts";
import type { HostedPaymentPolicy } from "./hosted-payment.ts";
import type { OrderOutcome } from "./order-stop.ts";

export interface OrderFulfilmentDeps {
  orders: OrdersRepo;
  stock: StockRepo;
  payments: PaymentProvider;
  mailer: Mailer;
  progress: ProgressPublisher;
  publicWebUrl: string;
  approvalThresholdCents: number;
  approvalTimeoutMs: number;
  shippingDelayMs: number;
  paymentPolicy: HostedPaymentPolicy;
}

export interface OrderResult {
  orderId: string;
  outcome: Exclude<OrderOutcome, "failed">;
  reason: string | null;
}

/** What the first step did: the order stored, its stock, and (paid by card) its payment. */
export interface Placed {
  order: StoredOrder;
  stock: OrderReservation;
  /** Charged, or only authorised for an order that needs approval. */
  charge?: Charge;
  /** Why the provider refused the payment (a declined card), when it did. */
  declined?: string;
  /** False when the charge went through but its record did not: a step of its own writes it. */
  recorded?: boolean;
}
