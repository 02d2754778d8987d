-- The product catalog. Stock is written only by the Inventory virtual object (one writer per SKU).
CREATE TABLE products (
  sku          text PRIMARY KEY CHECK (sku ~ '^[A-Z0-9][A-Z0-9-]{1,31}$'),
  name         text NOT NULL,
  description  text NOT NULL DEFAULT '',
  price_cents  integer NOT NULL CHECK (price_cents > 0),
  currency     char(3) NOT NULL DEFAULT 'EUR',
  stock        integer NOT NULL CHECK (stock >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
