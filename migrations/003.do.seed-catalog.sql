-- A small starting catalog so a fresh system has something to sell.
INSERT INTO products (sku, name, description, price_cents, currency, stock) VALUES
  ('MUG-QUAY',     'Quayside mug',          'Stoneware mug, 350 ml, glazed in harbour blue.',     1400, 'EUR', 120),
  ('TEE-ANCHOR',   'Anchor T-shirt',        'Organic cotton tee with a small anchor print.',      2500, 'EUR',  80),
  ('ROPE-COASTER', 'Rope coasters (set/4)', 'Hand-knotted cotton rope coasters.',                 1800, 'EUR',  60),
  ('LAMP-HARBOUR', 'Harbour lamp',          'Brass desk lamp modelled on a harbour light.',      8900, 'EUR',  15),
  ('MAP-PRINT',    'Old port map print',    'A3 print of an 1890 port chart on matte paper.',     3200, 'EUR',  40),
  ('KNOT-BOOK',    'Book of knots',         'Pocket guide to forty useful knots.',                1200, 'EUR',  30)
ON CONFLICT (sku) DO NOTHING;
