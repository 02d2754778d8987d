-- "Email me my orders" finds an address's recent orders, whatever case it was typed in.
CREATE INDEX orders_email_lower_idx ON orders (lower(email), created_at DESC);
