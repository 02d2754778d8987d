-- An order's short reference (shared/order-reference.ts) is the last 12 hex digits of its id: the
-- random end of a UUIDv7, where its start is a timestamp that orders of one minute share. The
-- operator's search finds an order by it through this index (web/adapters/orders-read.repo.ts
-- uses exactly this expression). Numbered 015: 014 is taken by another change in flight.
CREATE INDEX orders_reference_idx ON orders ((right(id::text, 12)));
