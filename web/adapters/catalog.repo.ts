/** Read-only views of the catalog and of orders, for pages. Writes belong to the worker. */
import type pg from "pg";
import { readOrder, type OrderRecord } from "../../shared/order-read.ts";

export interface Product {
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
}

export type OrderView = OrderRecord;

export function createCatalogRepo(pool: pg.Pool) {
  async function listProducts(): Promise<Product[]> {
    const r = await pool.query(`SELECT sku, name, description, price_cents, currency, stock FROM products ORDER BY name`);
    return r.rows.map((p) => ({
      sku: p.sku,
      name: p.name,
      description: p.description,
      priceCents: p.price_cents,
      currency: p.currency.trim(),
      stock: p.stock,
    }));
  }

  async function findOrder(id: string): Promise<OrderView | null> {
    return readOrder(pool, id);
  }

  return { listProducts, findOrder };
}
export type CatalogRepo = ReturnType<typeof createCatalogRepo>;
