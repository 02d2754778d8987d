-- Every change an operator makes to stock (a restock, or a correction after counting), made by the
-- Inventory virtual object in the same statement that changes products.stock. The idempotency id
-- comes from the operator's form, rendered once: a double submit or a retried call is one movement.
-- So for every SKU: stock = initial stock + sum(delta) − units held by reservations.
CREATE TABLE stock_movements (
  id              bigserial PRIMARY KEY,
  idempotency_id  uuid NOT NULL UNIQUE,
  sku             text NOT NULL REFERENCES products (sku),
  kind            text NOT NULL CHECK (kind IN ('restock', 'correction')),
  delta           integer NOT NULL CHECK (delta > 0 OR kind = 'correction'),
  stock_after     integer NOT NULL CHECK (stock_after >= 0),
  reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 300),
  operator        text NOT NULL CHECK (length(operator) BETWEEN 1 AND 100),
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_sku_idx ON stock_movements (sku, created_at DESC);
