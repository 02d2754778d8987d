import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  emailRequestSchema,
  renderEmail,
  type EmailRequest,
  type RenderableEmail,
} from "../../worker/templates/email-templates.ts";
import { messageIdFor } from "../../worker/adapters/smtp-mailer.ts";
import { ACCESS_PARAM, createResourceLinks } from "../../shared/resource-link.ts";

const ORDER_ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const OTHER_ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";
const links = createResourceLinks({ keys: ["email-templates-test-key-0123456789abcdef"], ttlSeconds: 3_600 });
/** Every link to an order page in a rendered part, with the order id it points at and its token. */
const orderLinks = (part: string) =>
  [...part.matchAll(/http:\/\/127\.0\.0\.1:3000\/orders\/([0-9a-f-]{36})\?access=([^"\s&]+)/g)].map((m) => ({
    orderId: m[1]!,
    token: m[2]!,
  }));

function request(patch: Partial<EmailRequest["data"]> = {}): RenderableEmail {
  return {
    idempotencyKey: `order-confirmation:${ORDER_ID}`,
    to: "ada@example.com",
    template: "order-confirmation",
    data: {
      orderId: ORDER_ID,
      orderUrl: "http://127.0.0.1:3000/orders/" + ORDER_ID,
      totalCents: 4600,
      currency: "EUR",
      lines: [
        {
          name: "Harbour <b>Mug</b> & Co",
          sku: "MUG-01",
          quantity: 2,
          unitPriceCents: 1500,
        },
        { name: "Quay Tee", sku: "TEE-02", quantity: 1, unitPriceCents: 1600 },
      ],
      ...patch,
    },
  };
}

describe("renderEmail(order-confirmation)", () => {
  const email = renderEmail(request(), links);

  it("has a subject with the last 12 characters of the order id", () => {
    assert.equal(ORDER_ID.slice(-12), "0c1d2e3f4a5b");
    assert.equal(email.subject, "Order confirmed: 0c1d2e3f4a5b");
  });

  it("escapes product names in the HTML part", () => {
    assert.ok(email.html.includes("Harbour &lt;b&gt;Mug&lt;/b&gt; &amp; Co"), email.html);
    assert.ok(!email.html.includes("<b>Mug</b>"));
    assert.ok(email.html.includes("1 × Quay Tee"));
    assert.ok(email.html.includes("2 × Harbour &lt;b&gt;"));
  });

  it("uses a table layout with inline styles", () => {
    assert.match(email.html, /^<!doctype html>/);
    assert.ok(email.html.includes('<table role="presentation"'));
    assert.match(email.html, /<td[^>]* style="[^"]+"/);
    assert.match(email.html, /<body style="[^"]+"/);
    assert.doesNotMatch(email.html, /<style\b|<link\b|class="/);
  });

  it("puts the subject in the HTML title", () => {
    assert.ok(email.html.includes("<title>Order confirmed: 0c1d2e3f4a5b</title>"));
  });

  it("shows line totals and the order total in euro in the HTML part", () => {
    assert.ok(email.html.includes("€30.00"));
    assert.ok(email.html.includes("€16.00"));
    assert.ok(email.html.includes("€46.00"));
    assert.ok(email.html.includes(`href="http://127.0.0.1:3000/orders/${ORDER_ID}?${ACCESS_PARAM}=`));
  });

  it("has a plain-text part with lines, total, link and full order id", () => {
    const lines = email.text.split("\n");
    assert.equal(lines[0], "Thank you: your order is confirmed and paid.");
    assert.ok(lines.includes("  2 x Harbour <b>Mug</b> & Co  €30.00"), email.text);
    assert.ok(lines.includes("  1 x Quay Tee  €16.00"));
    assert.ok(lines.includes("  Total  €46.00"));
    assert.ok(lines.some((l) => l.startsWith(`Follow your order: http://127.0.0.1:3000/orders/${ORDER_ID}?${ACCESS_PARAM}=`)));
    assert.equal(lines.at(-1), `Order ${ORDER_ID}`);
    assert.doesNotMatch(email.text, /&lt;|<table|<p/);
  });

  it("formats other currencies with their own symbol", () => {
    const usd = renderEmail(request({ currency: "USD", totalCents: 123456, lines: [] }), links);
    assert.ok(usd.text.includes("  Total  US$1,234.56"), usd.text);
  });

  it("escapes a hostile order URL in the href", () => {
    const hostile = renderEmail(request({ orderUrl: 'http://x.example/"><script>alert(1)</script>' }), links);
    assert.doesNotMatch(hostile.html, /<script/);
  });
});

describe("order links in emails are signed for their own order", () => {
  const templates: RenderableEmail[] = [
    request(),
    {
      idempotencyKey: "s",
      to: "ada@example.com",
      template: "order-shipped",
      data: { orderId: ORDER_ID, orderUrl: `http://127.0.0.1:3000/orders/${ORDER_ID}` },
    },
    {
      idempotencyKey: "c",
      to: "ada@example.com",
      template: "order-cancelled",
      data: {
        orderId: ORDER_ID,
        orderUrl: `http://127.0.0.1:3000/orders/${ORDER_ID}`,
        reason: "Out of stock",
        refundedCents: 0,
        currency: "EUR",
      },
    },
  ];
  for (const req of templates) {
    it(`${req.template}: one link in each part, with a token that opens this order and no other`, () => {
      const email = renderEmail(req, links);
      for (const part of [email.html, email.text]) {
        const found = orderLinks(part);
        assert.equal(found.length, 1, part);
        assert.equal(found[0]!.orderId, ORDER_ID);
        assert.ok(links.verify("order", ORDER_ID, found[0]!.token));
        assert.equal(links.verify("order", OTHER_ID, found[0]!.token), false);
      }
      assert.doesNotMatch(email.text, new RegExp(`/orders/${ORDER_ID}(\\s|$)`), "no unsigned link left");
    });
  }

  it("order-links: one signed link per order, each for its own order", () => {
    const email = renderEmail(
      {
        idempotencyKey: "order-links:x",
        to: "ada@example.com",
        template: "order-links",
        data: {
          orders: [ORDER_ID, OTHER_ID].map((orderId, i) => ({
            orderId,
            orderUrl: `http://127.0.0.1:3000/orders/${orderId}`,
            placedAt: `2025-06-0${i + 1}T10:15:00.000Z`,
            totalCents: 1500 * (i + 1),
            currency: "EUR",
            status: "awaiting_approval",
          })),
        },
      },
      links,
    );
    assert.equal(email.subject, "Your Quayside orders");
    for (const part of [email.html, email.text]) {
      const found = orderLinks(part);
      assert.deepEqual(
        found.map((f) => f.orderId),
        [ORDER_ID, OTHER_ID],
      );
      for (const f of found) assert.ok(links.verify("order", f.orderId, f.token));
      assert.equal(links.verify("order", OTHER_ID, found[0]!.token), false);
    }
    assert.ok(email.text.includes("2025-06-01 10:15 UTC · awaiting approval · €15.00"), email.text);
    assert.ok(email.html.includes("€30.00"));
  });

  it("order-links needs at least one order", () => {
    const base = { idempotencyKey: "k", to: "ada@example.com", template: "order-links" };
    assert.equal(emailRequestSchema.safeParse({ ...base, data: { orders: [] } }).success, false);
  });
});

describe("emailRequestSchema", () => {
  it("accepts the request used above and rejects an unknown template or bad recipient", () => {
    assert.equal(emailRequestSchema.safeParse(request()).success, true);
    assert.equal(emailRequestSchema.safeParse({ ...request(), template: "newsletter" }).success, false);
    assert.equal(emailRequestSchema.safeParse({ ...request(), to: "nobody" }).success, false);
    assert.equal(emailRequestSchema.safeParse({ ...request(), idempotencyKey: "" }).success, false);
  });
});

describe("messageIdFor", () => {
  const from = "Shop <orders@shop.example>";

  it("is deterministic for the same key", () => {
    assert.equal(messageIdFor("order-confirmation:1", from), messageIdFor("order-confirmation:1", from));
  });

  it("differs for different keys", () => {
    assert.notEqual(messageIdFor("order-confirmation:1", from), messageIdFor("order-confirmation:2", from));
  });

  it("has the form <32 hex chars@domain-of-From>", () => {
    const id = messageIdFor("order-confirmation:1", from);
    assert.match(id, /^<[0-9a-f]{32}@shop\.example>$/);
    assert.ok(id.endsWith("@shop.example>"));
  });

  it("is the truncated sha256 of the key", () => {
    // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    assert.equal(messageIdFor("abc", from), "<ba7816bf8f01cfea414140de5dae2223@shop.example>");
  });

  it("takes the domain from a bare address and falls back without one", () => {
    assert.equal(messageIdFor("abc", "orders@quayside.test"), "<ba7816bf8f01cfea414140de5dae2223@quayside.test>");
    assert.equal(messageIdFor("abc", "Quayside"), "<ba7816bf8f01cfea414140de5dae2223@quayside.local>");
  });

  it("takes the domain from the address, not from an '@' inside a quoted display name", () => {
    assert.equal(messageIdFor("abc", '"orders@b" <orders@shop.example>'), "<ba7816bf8f01cfea414140de5dae2223@shop.example>");
  });

  it("depends only on the key, not on the display name", () => {
    assert.equal(messageIdFor("k", "A <x@shop.example>"), messageIdFor("k", "B <y@shop.example>"));
  });
});
