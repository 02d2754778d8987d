/** Read-only views of the catalog (products and their stock), for pages. Writes belong to the worker. */
import type pg from "pg";

export interface Product {
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
}

/** A `products` row as pg returns it (currency is char(3), space-padded). */
interface ProductRow {
  sku: string;
  name: string;
  description: string;
  price_cents: number;
  currency: string;
  stock: number;
}

export function createCatalogRepo(pool: pg.Pool) {
  async function listProducts(): Promise<Product[]> {
    const r = await pool.query<ProductRow>(
      `SELECT sku, name, description, price_cents, currency, stock FROM products ORDER BY name`,
    );
    return r.rows.map((p) => ({
      sku: p.sku,
      name: p.name,
      description: p.description,
      priceCents: p.price_cents,
      currency: p.currency.trim(),
      stock: p.stock,
    }));
  }

  // The set of SKUs changes with a migration, not per request: validating a form need not ask the database.
  let skus: { at: number; value: Promise<Set<string>> } | null = null;
  function knownSkus(): Promise<Set<string>> {
    if (!skus || Date.now() - skus.at > 10_000) {
      const value = pool
        .query<Pick<ProductRow, "sku">>(`SELECT sku FROM products`)
        .then((r) => new Set(r.rows.map((p) => p.sku)));
      value.catch(() => (skus = null));
      skus = { at: Date.now(), value };
    }
    return skus.value;
  }

  return { listProducts, knownSkus };
}
export type CatalogRepo = ReturnType<typeof createCatalogRepo>;
