/**
 * What the security test files share: a stack whose orders above €150 wait for an operator, one
 * operator account, the web in this process, and three browsers. `alice` owns an order waiting for
 * approval, a content job and a campaign that is still sending, each with markup in its text;
 * `bob` is another browser; `operator` is signed in to /ops. With them, the table that fills the
 * routers' parameters with alice's resources, and a form per route that would do its work.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { v7 as uuidv7 } from "uuid";
import type { RegisteredRoute } from "../../web/route-list.ts";
import { BrowserClient, extract, postOrderForm, waitUntil } from "./browser-client.ts";
import { startInProcessWeb, type InProcessWeb } from "./in-process-web.ts";
import { addOperator } from "./operators.ts";
import { fillPath, routeName, type ParamTable } from "./route-params.ts";
import { startTestStack, type TestStack } from "./test-stack.ts";

export const OPS_NAME = "sec-op";
export const OPS_PASSWORD = "security-test operator password";
export const LINK_KEY = "security-test-link-signing-key-0123456789abcdef";
/** Markup in user input: every page that echoes it must escape it, so the static checks stay clean. */
export const PAYLOAD = `<img src=x onerror="alert(1)"><script>alert(2)</script>"><svg onload=alert(3)>`;

/** Per route, a form that would do the route's work if it were let in (a route not named here is sent an empty one). */
const FORMS: Readonly<Record<string, () => Record<string, string>>> = {
  "POST /orders": () => ({
    orderId: uuidv7(),
    email: "forged@security.example",
    paymentMethod: "pm_card_visa",
    "qty[MUG-QUAY]": "1",
  }),
  "POST /orders/find": () => ({ lookupId: uuidv7(), email: "alice@security.example" }),
  "POST /content": () => ({ jobId: uuidv7(), productName: "Forged", details: "x" }),
  "POST /emails": () => ({
    campaignId: uuidv7(),
    subject: "Forged",
    format: "text",
    body: "x",
    recipients: "f@security.example",
  }),
  "POST /ops/login": () => ({ name: OPS_NAME, password: OPS_PASSWORD }),
  "POST /ops/stock/:sku": () => ({ kind: "restock", movementId: uuidv7(), units: "5", reason: "forged" }),
  "POST /ops/orders/:id/cancel": () => ({ reason: "forged" }),
  "POST /ops/orders/:id/refund": () => ({ requestId: uuidv7(), reason: "forged" }),
};

export type SecurityFixture = Awaited<ReturnType<typeof startSecurityFixture>>;

export async function startSecurityFixture(name: string) {
  const stack: TestStack = await startTestStack(name, {
    // Two harbour lamps (€178) wait for approval, so the order stays cancellable and approvable for the whole file.
    // One send a second keeps the campaign running while forged stop requests arrive.
    env: { APPROVAL_THRESHOLD_CENTS: "15000", CAMPAIGN_SENDS_PER_SECOND: "1", LINK_SIGNING_KEYS: LINK_KEY },
  });
  let web: InProcessWeb | undefined;
  let redis: Redis | undefined;
  const close = async () => {
    redis?.disconnect();
    await web?.close();
    await stack.stop();
  };
  try {
    await addOperator(stack.env, OPS_NAME, OPS_PASSWORD);
    web = await startInProcessWeb(stack.env);
    redis = new Redis(stack.services.valkeyUrl);
    return await withResources(stack, web, redis, close);
  } catch (err) {
    await close();
    throw err;
  }
}

async function withResources(stack: TestStack, web: InProcessWeb, redis: Redis, close: () => Promise<void>) {
  const tokenOf = async (client: BrowserClient, path = "/orders/new") => extract((await client.get(path)).html, "_csrf");
  const one = async (sql: string, params: unknown[] = []) =>
    (await stack.db.query(sql, params)).rows[0] as Record<string, unknown>;
  const orderStatus = async (id: string) => (await one("SELECT status FROM orders WHERE id = $1", [id]))?.status;

  async function placeOrder(client: BrowserClient, qty: Record<string, string>, email: string): Promise<string> {
    const res = await postOrderForm(client, { email, quantities: qty });
    assert.equal(res.status, 303, res.html);
    return res.orderId;
  }
  async function startJob(client: BrowserClient, productName: string): Promise<string> {
    const form = await client.get("/content/new");
    const id = extract(form.html, "jobId");
    const res = await client.postForm("/content", [
      ["_csrf", extract(form.html, "_csrf")],
      ["jobId", id],
      ["productName", productName],
      ["details", `Brass, 40 cm ${PAYLOAD}`],
      ["languages", "fr"],
    ]);
    assert.equal(res.status, 303, res.html);
    return id;
  }
  async function startCampaign(client: BrowserClient, subject: string, recipients: string): Promise<string> {
    const form = await client.get("/emails/new");
    const id = extract(form.html, "campaignId");
    const res = await client.postForm("/emails", {
      _csrf: extract(form.html, "_csrf"),
      campaignId: id,
      subject,
      format: "markdown",
      body: `Hello ${PAYLOAD} [x](javascript:alert(4))`,
      recipients,
    });
    assert.equal(res.status, 303, res.html);
    return id;
  }
  async function signIn(client: BrowserClient): Promise<void> {
    const res = await client.postForm("/ops/login", {
      _csrf: await tokenOf(client, "/ops"),
      name: OPS_NAME,
      password: OPS_PASSWORD,
    });
    assert.equal(res.status, 303);
  }

  const alice = new BrowserClient(web.url);
  const bob = new BrowserClient(web.url);
  const operator = new BrowserClient(web.url);
  await bob.get("/");
  const orderId = await placeOrder(alice, { "LAMP-HARBOUR": "2" }, "alice@security.example");
  const jobId = await startJob(alice, `Lamp ${PAYLOAD}`);
  const campaignId = await startCampaign(
    alice,
    `News ${PAYLOAD}`,
    "r1@security.example r2@security.example r3@security.example r4@security.example",
  );
  await signIn(operator);
  await waitUntil("the order to wait for approval", async () => (await orderStatus(orderId)) === "awaiting_approval");

  /** `:id` names alice's resource of the kind the path's first segment serves (the console's are orders). */
  const idsByArea: Readonly<Record<string, string>> = { orders: orderId, content: jobId, emails: campaignId, ops: orderId };
  const params: ParamTable = {
    id: (path) => {
      const id = idsByArea[path.split("/")[1] ?? ""];
      return id === undefined ? undefined : [id];
    },
    sku: () => ["MUG-QUAY"],
    campaignId: () => [campaignId],
    hash: () => ["not-a-signature-of-anything"],
  };

  /** What could be written: rows created by submissions, claims, operator grants, the order's state. */
  async function writes() {
    const counts = await one(
      `SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM content_jobs) AS jobs,
              (SELECT count(*) FROM email_campaigns) AS campaigns,
              (SELECT count(*) FROM campaign_recipients WHERE status = 'cancelled') AS cancelled,
              (SELECT count(*) FROM payments WHERE kind = 'refund') AS refunds,
              (SELECT count(*) FROM stock_movements) AS movements, (SELECT count(*) FROM order_refunds) AS operator_refunds`,
    );
    return {
      ...counts,
      owners: (await redis.keys("owner:*")).sort(),
      operators: (await redis.keys("operator:*")).sort(),
      order: await orderStatus(orderId),
    };
  }

  return {
    stack,
    web,
    redis,
    alice,
    bob,
    operator,
    orderId,
    jobId,
    campaignId,
    /** Fills the routers' parameters with alice's resources. */
    params,
    /** The route's paths, filled from `params` (throws on a parameter the table does not know). */
    pathsOf: (route: RegisteredRoute) => fillPath(route, params),
    /** A form that would do the route's work if it were let in; empty for a route that needs none. */
    formFor: (route: RegisteredRoute) => FORMS[routeName(route)]?.() ?? {},
    tokenOf,
    one,
    orderStatus,
    placeOrder,
    startJob,
    startCampaign,
    signIn,
    writes,
    close,
  };
}
