/** Everything this worker serves, built from its adapters. */
import type { Mailer } from "./adapters/smtp-mailer.ts";
import type { CampaignsRepo } from "./adapters/campaigns.repo.ts";
import type { OrdersRepo } from "./adapters/orders.repo.ts";
import type { StockRepo } from "./adapters/stock.repo.ts";
import type { PaymentProvider } from "./adapters/payment-provider.ts";
import type { HostedPaymentPolicy } from "./hosted-payment.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { createEmailCampaignWorkflow } from "./email-campaign.workflow.ts";
import { createEmailSenderService, type EmailRetryPolicy } from "./email-sender.service.ts";
import { createOrderFulfilmentWorkflow } from "./order-fulfilment.workflow.ts";
import { createOrderLinksService } from "./order-links.service.ts";
import { createOrderRefundObject } from "./order-refund.object.ts";
import { createStockService } from "./stock.service.ts";
import { createContentGenerationWorkflow, type ContentGenerationDeps } from "./content-generation.workflow.ts";
import { createLlmQuotaObject, type QuotaLimits } from "./llm-quota.object.ts";

export interface WorkerDeps {
  orders: OrdersRepo;
  stock: StockRepo;
  payments: PaymentProvider;
  mailer: Mailer;
  campaigns: CampaignsRepo;
  emailPolicy: { retry: EmailRetryPolicy; maxRecipients: number; sendsPerSecond: number };
  progress: ProgressPublisher;
  publicWebUrl: string;
  content: Omit<ContentGenerationDeps, "progress"> & { quota: QuotaLimits };
  orderPolicy: {
    approvalThresholdCents: number;
    approvalTimeoutMs: number;
    shippingDelayMs: number;
    /** First check of a pending refund (then doubling): see OrderRefund. */
    refundCheckMs: number;
    paymentPolicy: HostedPaymentPolicy;
  };
}

export function createServices(deps: WorkerDeps) {
  return [
    createOrderFulfilmentWorkflow({ ...deps, ...deps.orderPolicy }),
    createStockService({ stock: deps.stock }),
    createOrderRefundObject({ ...deps, refundCheckMs: deps.orderPolicy.refundCheckMs }),
    createContentGenerationWorkflow({ ...deps.content, progress: deps.progress }),
    createLlmQuotaObject({ limits: deps.content.quota }),
    createEmailSenderService({ mailer: deps.mailer, retry: deps.emailPolicy.retry }),
    createOrderLinksService({ orders: deps.orders, publicWebUrl: deps.publicWebUrl }),
    createEmailCampaignWorkflow({
      campaigns: deps.campaigns,
      progress: deps.progress,
      publicWebUrl: deps.publicWebUrl,
      ...deps.emailPolicy,
    }),
  ];
}
