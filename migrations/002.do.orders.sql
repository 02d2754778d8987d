-- Orders and everything that happens to them. Each effect a workflow step performs has a unique
-- key here, so replaying a step after a crash finds its earlier result instead of doing it twice.
CREATE TABLE orders (
  id              uuid PRIMARY KEY,
  email           text NOT NULL,
  payment_method  text NOT NULL,
  total_cents     integer NOT NULL CHECK (total_cents >= 0),
  currency        char(3) NOT NULL,
  status          text NOT NULL DEFAULT 'received',
  status_reason   text,
  invocation_id   text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_created_at_idx ON orders (created_at DESC);

CREATE TABLE order_lines (
  order_id          uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  sku               text NOT NULL REFERENCES products (sku),
  quantity          integer NOT NULL CHECK (quantity > 0),
  unit_price_cents  integer NOT NULL CHECK (unit_price_cents > 0),
  PRIMARY KEY (order_id, sku)
);

CREATE TABLE stock_reservations (
  order_id     uuid NOT NULL REFERENCES orders (id),
  sku          text NOT NULL REFERENCES products (sku),
  quantity     integer NOT NULL CHECK (quantity > 0),
  status       text NOT NULL DEFAULT 'reserved' CHECK (status IN ('reserved', 'released')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  released_at  timestamptz,
  PRIMARY KEY (order_id, sku)
);

CREATE TABLE payments (
  id               bigserial PRIMARY KEY,
  idempotency_key  text NOT NULL UNIQUE,
  order_id         uuid NOT NULL REFERENCES orders (id),
  kind             text NOT NULL CHECK (kind IN ('charge', 'refund')),
  amount_cents     integer NOT NULL CHECK (amount_cents > 0),
  currency         char(3) NOT NULL,
  payment_method   text NOT NULL,
  status           text NOT NULL CHECK (status IN ('succeeded', 'declined')),
  provider_ref     text NOT NULL UNIQUE,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_order_id_idx ON payments (order_id);

CREATE TABLE emails (
  idempotency_key  text PRIMARY KEY,
  message_id       text NOT NULL UNIQUE,
  recipient        text NOT NULL,
  subject          text NOT NULL,
  template         text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'bounced', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  error            text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz
);
