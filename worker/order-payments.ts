/**
 * The order's money, as the order workflow's steps use it: whether an order needs approval, the
 * charge by card inside the first step, what a payment's record writes and makes true, and the
 * requests that capture, cancel or refund it. Each request carries its idempotency key
 * (`order:<id>:charge`, `:capture`, `:cancel`, `:refund`), so a retried step asks once.
 */
import type { StoredOrder } from "./adapters/orders.repo.ts";
import type { AuthorizationRequest, Charge, RefundRequest } from "./adapters/payment-provider.ts";
import { PermanentError } from "./errors.ts";
import type { OrderFulfilmentDeps, Placed } from "./order-fulfilment.types.ts";
import { orderSteps } from "../shared/order-steps.ts";
import type { EmailRequest } from "./templates/email-templates.ts";

export function orderPayments(deps: OrderFulfilmentDeps, orderId: string, orderUrl: string) {
  const needsApproval = (order: StoredOrder) => order.totalCents >= deps.approvalThresholdCents;

  const confirmation = (order: StoredOrder): EmailRequest => ({
    idempotencyKey: `order:${orderId}:confirmation`,
    to: order.email,
    template: "order-confirmation",
    data: { orderId, orderUrl, totalCents: order.totalCents, currency: order.currency, lines: order.lines },
  });

  /**
   * What a payment makes true: an order that needs approval is authorised and waits for it; any
   * other is paid and confirmed, and its confirmation is sent by the same step.
   */
  const record = (order: StoredOrder) => {
    const held = needsApproval(order);
    return {
      write: (ref: string) => (held ? deps.orders.markAwaitingApproval(orderId, ref) : deps.orders.confirmPaid(orderId, ref)),
      after: held ? [orderSteps.authorized, orderSteps.awaitingApproval] : [orderSteps.paid, orderSteps.confirmed],
      email: held ? undefined : confirmation(order),
    };
  };

  /** The payment of an order paid by card, in the first step; a refusal is an outcome, not a failure. */
  const payByCard = async (order: StoredOrder): Promise<Pick<Placed, "charge" | "declined" | "recorded">> => {
    const payment = {
      idempotencyKey: `order:${orderId}:charge`,
      orderId,
      amountCents: order.totalCents,
      currency: order.currency,
      paymentMethod: order.paymentMethod,
    };
    let charge: Charge;
    try {
      charge = needsApproval(order) ? await deps.payments.authorize(payment) : await deps.payments.charge(payment);
    } catch (err) {
      if (err instanceof PermanentError) return { declined: err.message };
      throw err;
    }
    // Once the money is taken, the step must end with the charge in its result, whatever
    // PostgreSQL does: retried to its (bounded) end, it would fail the order with the charge
    // unknown to the saga, and nothing would give the money back.
    try {
      await record(order).write(charge.providerRef);
    } catch {
      return { charge, recorded: false };
    }
    return { charge, recorded: true };
  };

  const settlement = (charge: Charge, op: "capture" | "cancel"): AuthorizationRequest => ({
    idempotencyKey: `order:${orderId}:${op}`,
    orderId,
    chargeRef: charge.providerRef,
    amountCents: charge.amountCents,
    currency: charge.currency,
  });

  const refundOf = (charge: Charge): RefundRequest => ({
    idempotencyKey: `order:${orderId}:refund`,
    orderId,
    chargeRef: charge.providerRef,
    amountCents: charge.amountCents,
    currency: charge.currency,
  });

  return { needsApproval, confirmation, record, payByCard, settlement, refundOf };
}
