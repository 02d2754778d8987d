/**
 * `/ops/stock`: every product with the units for sale, a restock form and a correction form per
 * product (each rendered with a fresh movement id, so a double submit is one movement; a repeat of
 * the operator's last change under a new id comes back asking to confirm it), and the
 * newest movements with who made them and why.
 */
import { html, type SafeHtml } from "../../shared/html.ts";
import type { Product } from "../adapters/catalog.repo.ts";
import type { StockMovementView } from "../adapters/stock-movements-read.repo.ts";
import type { Page } from "./layout.view.ts";

export type StockFormKind = "restock" | "correction";

/** A change that repeats the operator's last one (Back, then submit): kept, and asked about before it is recorded. */
export interface RepeatedStockForm {
  sku: string;
  kind: StockFormKind;
  values: Record<string, string>;
  /** The movement it repeats; the form sends it back as `repeatOf` to confirm. */
  of: string;
}

/** A form that came back with errors: its product, its kind, what was typed and what is wrong. */
export interface FailedStockForm {
  sku: string;
  kind: StockFormKind;
  values: Record<string, string>;
  errors: Record<string, string | undefined>;
}

export interface OpsStockModel {
  products: Product[];
  movements: StockMovementView[];
  csrfToken: string;
  operator: string;
  /** A fresh movement id for each form that is not coming back with errors. */
  newMovementId: () => string;
  notice?: string | undefined;
  failed?: FailedStockForm | undefined;
  repeat?: RepeatedStockForm | undefined;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

export function describeMovement(m: StockMovementView): string {
  const what = m.kind === "restock" ? `restocked by ${m.delta}` : `corrected to ${m.stockAfter} (${signed(m.delta)})`;
  return `${m.productName}: ${what}; ${m.stockAfter} for sale now. Recorded for ${m.operator}.`;
}

function stockForm(p: Product, kind: StockFormKind, m: OpsStockModel): SafeHtml {
  const failed = m.failed?.sku === p.sku && m.failed.kind === kind ? m.failed : undefined;
  const repeat = m.repeat?.sku === p.sku && m.repeat.kind === kind ? m.repeat : undefined;
  const kept = failed ?? repeat;
  const value = (name: string) => kept?.values[name] ?? "";
  const error = (name: string) => {
    const message = failed?.errors[name];
    return message ? html`<p class="field-error" id="${kind}-${name}-${p.sku}-error">${message}</p>` : "";
  };
  const amount = kind === "restock" ? "units" : "count";
  const id = (name: string) => `${kind}-${name}-${p.sku}`;
  return html`<form method="post" action="/ops/stock/${p.sku}" class="stock-form ${kind}" data-sku="${p.sku}" data-kind="${kind}" novalidate>
    <input type="hidden" name="_csrf" value="${m.csrfToken}">
    <input type="hidden" name="kind" value="${kind}">
    <input type="hidden" name="movementId" value="${kept?.values.movementId ?? m.newMovementId()}">
    ${error("movementId")}
    ${
      repeat
        ? html`<input type="hidden" name="repeatOf" value="${repeat.of}">
          <p class="form-error" role="alert">You recorded this same change moments ago. Submit it again only if it really happened twice.</p>`
        : ""
    }
    <label for="${id(amount)}">${kind === "restock" ? "Units to add" : "Units for sale (counted)"}</label>
    <input id="${id(amount)}" name="${amount}" type="number" inputmode="numeric" min="${kind === "restock" ? 1 : 0}" required value="${value(amount)}">
    ${error(amount)}
    <label for="${id("reason")}">Reason</label>
    <input id="${id("reason")}" name="reason" type="text" maxlength="300" required value="${value("reason")}">
    ${error("reason")}
    <button type="submit" class="${kind === "correction" ? "secondary" : ""}">${kind === "restock" ? "Restock" : "Correct"}${repeat ? " again" : ""}</button>
  </form>`;
}

export function opsStockPage(m: OpsStockModel): Page {
  return {
    title: "Stock",
    body: html`<h1>Stock</h1>
      <p class="hint">Signed in as <strong>${m.operator}</strong>. Each change is made durably by the worker and is
        recorded with your name and reason. A correction sets the units for sale to what you counted.</p>
      ${m.notice ? html`<p class="notice" role="status">${m.notice}</p>` : ""}
      ${m.failed ? html`<p class="form-error" role="alert">Please correct the fields marked below.</p>` : ""}
      <table class="lines stock">
        <thead><tr><th>Product</th><th>For sale</th><th>Restock</th><th>Correct</th></tr></thead>
        <tbody>
          ${m.products.map(
            (p) => html`<tr data-sku="${p.sku}">
              <td>${p.name}<br><code>${p.sku}</code></td>
              <td class="stock-level" data-stock="${p.stock}">${p.stock > 0 ? String(p.stock) : html`<span class="out">Sold out</span>`}</td>
              <td>${stockForm(p, "restock", m)}</td>
              <td>${stockForm(p, "correction", m)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      <h2>Recent movements</h2>
      ${
        m.movements.length === 0
          ? html`<p>No stock has been moved from this page yet.</p>`
          : html`<table class="lines movements">
          <thead><tr><th>When (UTC)</th><th>Product</th><th>Change</th><th>For sale after</th><th>Operator</th><th>Reason</th></tr></thead>
          <tbody>${m.movements.map(
            (mv) => html`<tr data-movement-id="${mv.movementId}">
              <td>${mv.createdAt.slice(0, 19).replace("T", " ")}</td>
              <td>${mv.productName}</td>
              <td>${mv.kind === "restock" ? "restock" : "correction"} ${signed(mv.delta)}</td>
              <td>${mv.stockAfter}</td>
              <td>${mv.operator}</td>
              <td>${mv.reason}</td>
            </tr>`,
          )}</tbody>
        </table>`
      }
      <p><a href="/ops">Back to operations</a></p>`,
  };
}
