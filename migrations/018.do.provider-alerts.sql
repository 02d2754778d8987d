-- A payment provider that refuses our own credentials (Stripe answering 401 to a revoked key, 403
-- to a restricted key missing a permission) is not a customer's problem: every order's payment
-- step retries until its budget runs out and the order fails, and only the worker's log said why.
-- The worker counts each refusal here, one row per provider and kind of problem, so the operator
-- pages can say so in a banner while it is happening. It is written best-effort (a failed write
-- is logged, never fails the payment step) and read by the web, which shows rows whose last_at is
-- recent. A refusal after a quiet spell starts the count again (the worker decides, when it writes).
CREATE TABLE provider_alerts (
  provider  text NOT NULL,
  kind      text NOT NULL,
  -- The provider's HTTP status of the latest refusal (401 or 403 for 'auth').
  status    int NOT NULL,
  -- The provider's own words for the latest refusal, key-like strings removed by the worker.
  message   text NOT NULL CHECK (length(message) <= 500),
  count     bigint NOT NULL CHECK (count > 0),
  first_at  timestamptz NOT NULL DEFAULT now(),
  last_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, kind)
);
