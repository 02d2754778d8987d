-- Named operator accounts instead of one shared password. The hash is self-describing
-- ("scrypt$ln=15,r=8,p=1$<salt>$<key>", base64): its own salt and cost, so the cost can rise
-- later without invalidating the hashes already stored.
CREATE TABLE operators (
  name           text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9._-]{1,31}$'),
  password_hash  text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  -- Disabled, not deleted: the decisions below keep naming who made them.
  disabled_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Every approve / reject an operator asks for, written before the workflow is asked and settled
-- with its answer: who decided what, when, and whether the order took it ('unknown' when the
-- order system did not answer). No foreign key to orders: a request for an order id that never
-- existed is recorded (and refused) too.
CREATE TABLE operator_decisions (
  id          bigserial PRIMARY KEY,
  order_id    uuid NOT NULL,
  operator    text NOT NULL REFERENCES operators (name),
  action      text NOT NULL CHECK (action IN ('approve', 'reject')),
  outcome     text NOT NULL DEFAULT 'requested' CHECK (outcome IN ('requested', 'accepted', 'refused', 'unknown')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  settled_at  timestamptz
);
CREATE INDEX operator_decisions_order_idx ON operator_decisions (order_id, created_at);

-- The workflow records who approved or rejected an order on the order itself.
ALTER TABLE orders ADD COLUMN approval_decided_by text;

-- The operator's order list pages by keyset, newest first: (created_at, id) is the cursor, so each
-- query shape reads one index range and stops after a page, however many orders there are.
CREATE INDEX orders_created_id_idx ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_created_id_idx ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_email_created_id_idx ON orders (lower(email), created_at DESC, id DESC);
-- Superseded by the three above (same leading columns, plus the tie-breaker).
DROP INDEX orders_created_at_idx;
DROP INDEX orders_status_idx;
DROP INDEX orders_email_lower_idx;
