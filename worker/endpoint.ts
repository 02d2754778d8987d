/** Everything this worker serves, built from its adapters. */
import type { Mailer } from "./adapters/smtp-mailer.ts";
import type { InventoryRepo } from "./adapters/inventory.repo.ts";
import type { OrdersRepo } from "./adapters/orders.repo.ts";
import type { PaymentProvider } from "./adapters/payment-provider.ts";
import type { ProgressPublisher } from "./adapters/progress-publisher.ts";
import { createEmailSenderService } from "./email-sender.service.ts";
import { createInventoryObject } from "./inventory.object.ts";
import { createOrderFulfilmentWorkflow } from "./order-fulfilment.workflow.ts";

export interface WorkerDeps {
  orders: OrdersRepo;
  inventory: InventoryRepo;
  payments: PaymentProvider;
  mailer: Mailer;
  progress: ProgressPublisher;
  publicWebUrl: string;
}

export function createServices(deps: WorkerDeps) {
  return [
    createOrderFulfilmentWorkflow(deps),
    createInventoryObject({ inventory: deps.inventory }),
    createEmailSenderService({ mailer: deps.mailer }),
  ];
}
