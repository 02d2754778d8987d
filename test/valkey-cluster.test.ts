/**
 * The system on a Valkey Cluster: three primaries and three replicas on loopback, started by the
 * project's own stack scripts, the worker and the web (a process of its own) given the seed list.
 * A shopper places orders large enough to wait for approval and follows each one's SSE stream as
 * a browser does (reconnecting with Last-Event-ID whenever a stream ends early); an operator who
 * placed an order before signing in keeps it through the sign-in, and watches the live feed. With
 * every order held at its approval, the primary serving one order's progress stream is SIGKILLed
 * and its replica takes over; then the operator approves them all. Every stream must reach its
 * terminal event with no seq shown twice, the shopper's and the operator's sessions must still
 * hold what they held, a resume from a Last-Event-ID replays only what came after it, and the
 * operator's feed must show every order finished.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { streamKey } from "../shared/progress-event.ts";
import { BrowserClient, extract, postOrderForm, waitUntil } from "./helpers/browser-client.ts";
import type { SseEvent } from "../scripts/lib/sse-parser.ts";
import { addOperator } from "./helpers/operators.ts";
import { startTestStack, type TestStack } from "./helpers/test-stack.ts";

const OPS_PASSWORD = "cluster operator password";
const OPERATOR = "clara";
/** Orders above the threshold wait for an operator: the test holds them there while a primary fails. */
const LARGE = { "LAMP-HARBOUR": "2" };
const ORDERS = 4;
/** Generous bounds on every wait; nothing is asserted about how long anything took. */
const FAILOVER_BOUND_MS = 90_000;
const FINISH_BOUND_MS = 120_000;

/** A browser on one order's page: reads its stream and reconnects with Last-Event-ID until `done`. */
function follow(client: BrowserClient, orderId: string, stop: AbortSignal) {
  const state = { events: [] as SseEvent[], connections: 0, resumedWith: [] as string[], done: false };
  const finished = (async () => {
    let lastId: string | undefined;
    while (!state.done && !stop.aborted) {
      state.connections++;
      if (lastId !== undefined) state.resumedWith.push(lastId);
      await client
        .sse(`/orders/${orderId}/events`, {
          ...(lastId !== undefined ? { lastEventId: lastId } : {}),
          timeoutMs: FINISH_BOUND_MS + FAILOVER_BOUND_MS,
          signal: stop,
          // Each event as it arrives, as the page sees it.
          stopWhen: (e) => {
            if (e.id) lastId = e.id;
            if (e.event === "done") state.done = true;
            else state.events.push(e);
            return state.done;
          },
        })
        .catch(() => undefined);
      // The browser waits for the stream's retry hint before it reconnects; a short pause does here.
      if (!state.done && !stop.aborted) await new Promise((res) => setTimeout(res, 200));
    }
  })();
  return { state, finished };
}

/**
 * Each order's row as the operator's page shows it after these events: a row's own event replaces
 * it, and the first page (`orders-newest`) replaces every row it holds.
 */
function feedPage(events: readonly SseEvent[]): Map<string, string> {
  const shown = new Map<string, string>();
  for (const e of events) {
    if (e.event === "orders-newest")
      for (const row of e.data.matchAll(/<tr id="order-row-([0-9a-f-]+)"[\s\S]*?<\/tr>/g)) shown.set(row[1]!, row[0]);
    else if (e.event.startsWith("order-")) shown.set(e.event.slice("order-".length), e.data);
  }
  return shown;
}

describe("Quayside on a Valkey Cluster", () => {
  let stack: TestStack;
  /** The test's "leave every page": aborted at the end, or by `after` if the test failed first. */
  const leave = new AbortController();
  /** What the operator's feed showed, and the orders, for the feed's own check after the failover test. */
  const feed: SseEvent[] = [];
  const orderIds: string[] = [];
  let feedDone: Promise<void> = Promise.resolve();

  before(async () => {
    stack = await startTestStack("valkey-cluster", {
      valkey: "cluster",
      web: true,
      // No quiet check: every stream must end on live delivery alone, not on the row read that backs it up.
      env: { APPROVAL_THRESHOLD_CENTS: "15000", SHIPPING_DELAY_MS: "200", SSE_RETRY_MS: "200", SSE_QUIET_CHECK_MS: "0" },
    });
    await addOperator(stack.env, OPERATOR, OPS_PASSWORD);
  });
  after(async () => {
    leave.abort();
    await stack?.stop();
  });

  it("keeps orders, streams and sessions through a primary's failover, the operators' feed open", async () => {
    const cluster = stack.services.valkeyCluster;
    assert.ok(cluster, "the stack runs a cluster");
    assert.equal(stack.env.VALKEY_CLUSTER_NODES, cluster.seeds);
    const status = async (id: string) =>
      (await stack.db.query("SELECT status FROM orders WHERE id = $1", [id])).rows[0]?.status as string | undefined;

    // The operator's browser orders something first, then signs in: the order moves with the session.
    const operatorBrowser = new BrowserClient(stack.webUrl);
    const before = await postOrderForm(operatorBrowser, { email: "operator-as-shopper@example.com" });
    assert.equal(before.status, 303);
    const login = await operatorBrowser.get("/ops");
    const res = await operatorBrowser.postForm("/ops/login", {
      _csrf: extract(login.html, "_csrf"),
      name: OPERATOR,
      password: OPS_PASSWORD,
    });
    assert.equal(res.status, 303, "the sign-in went through the cluster");
    assert.equal((await operatorBrowser.get(`/orders/${before.orderId}`)).status, 200, "the order moved with the session");

    // The operators' live feed, reopened whenever it ends (it keeps no cursor: each open starts from PostgreSQL).
    feedDone = (async () => {
      while (!leave.signal.aborted) {
        await operatorBrowser
          .sse("/ops/events?topics=orders", {
            signal: leave.signal,
            timeoutMs: FINISH_BOUND_MS + FAILOVER_BOUND_MS,
            stopWhen: (e) => (feed.push(e), false),
          })
          .catch(() => undefined);
        if (!leave.signal.aborted) await new Promise((res) => setTimeout(res, 200));
      }
    })();

    const shopper = new BrowserClient(stack.webUrl);
    for (let i = 0; i < ORDERS; i++) {
      const o = await postOrderForm(shopper, { email: `cluster-${i}@example.com`, quantities: LARGE });
      assert.equal(o.status, 303);
      orderIds.push(o.orderId);
    }
    const followers = orderIds.map((id) => follow(shopper, id, leave.signal));
    for (const id of orderIds)
      await waitUntil(`order ${id} to wait for approval`, async () => (await status(id)) === "awaiting_approval", 60_000);
    await waitUntil("every page to show its order waiting", () => followers.every((f) => f.state.events.length > 0), 60_000);

    // Everything written so far is on the replicas; then the primary of the first order's stream dies.
    await cluster.replicasCaughtUp();
    const { killed, replicaPort } = await cluster.killPrimaryOf(streamKey({ kind: "order", id: orderIds[0]! }));
    assert.ok(killed.proc.child.signalCode !== null || killed.proc.child.exitCode !== null, "the primary is gone");
    await cluster.promoted(replicaPort, FAILOVER_BOUND_MS);

    // Sessions survived: the shopper still sees every order, the operator is still signed in.
    await waitUntil(
      "the shopper's orders through the promoted replica",
      async () => {
        const pages = await Promise.all(orderIds.map((id) => shopper.get(`/orders/${id}`)));
        return pages.every((p) => p.status === 200);
      },
      FAILOVER_BOUND_MS,
    );
    const dashboard = await waitUntil(
      "the operator's dashboard",
      async () => {
        const page = await operatorBrowser.get("/ops");
        return page.status === 200 && page.html.includes(`/ops/orders/${orderIds[0]}/approve`) ? page : null;
      },
      FAILOVER_BOUND_MS,
    );
    for (const id of orderIds) {
      const approve = await operatorBrowser.postForm(`/ops/orders/${id}/approve`, { _csrf: extract(dashboard.html, "_csrf") });
      assert.equal(approve.status, 303, `order ${id} approved`);
    }

    await Promise.race([
      Promise.all(followers.map((f) => f.finished)),
      new Promise((_, reject) => setTimeout(() => reject(new Error("streams did not all end")), FINISH_BOUND_MS).unref()),
    ]);
    for (const [i, f] of followers.entries()) {
      const seqs = f.state.events.filter((e) => e.id !== null).map((e) => Number(e.id));
      assert.ok(f.state.done, `order ${orderIds[i]}'s stream ended with its terminal event`);
      assert.deepEqual(
        seqs,
        [...new Set(seqs)].sort((a, b) => a - b),
        `order ${orderIds[i]}: no seq shown twice, none out of order`,
      );
      assert.equal(await status(orderIds[i]!), "fulfilled");
    }

    // Resuming from a Last-Event-ID replays only what came after it, read from the promoted replica's shard.
    const first = followers[0]!.state.events.filter((e) => e.id !== null);
    const resumeFrom = first[Math.floor(first.length / 2)]!.id!;
    const resumed = await shopper.sse(`/orders/${orderIds[0]}/events`, { lastEventId: resumeFrom, timeoutMs: 30_000 });
    assert.equal(resumed.status, 200);
    const resumedIds = resumed.events.filter((e) => e.id !== null).map((e) => Number(e.id));
    assert.ok(resumedIds.length > 0 && resumedIds.every((id) => id > Number(resumeFrom)), `only events after ${resumeFrom}`);
    assert.equal(resumed.events.at(-1)?.event, "done");
  });

  // A feed message (a plain PUBLISH, carried to the node the web listens on by the cluster bus) can
  // be lost across the failover with no gap to tell of it: the feed's check against PostgreSQL
  // (every few seconds while an operator watches) must still bring every row up to date.
  it("the operators' feed showed every order finished", async () => {
    assert.ok(orderIds.length > 0, "the failover test placed the orders");
    const notShown = () => {
      const shown = feedPage(feed);
      return orderIds.filter((id) => !/status-fulfilled/.test(shown.get(id) ?? ""));
    };
    await waitUntil("the feed to show every order fulfilled", () => notShown().length === 0, 60_000).catch((err: unknown) => {
      const tail = feed.slice(-12).map((e) => `${e.event}: ${e.data.slice(0, 300)}`);
      throw new Error(`not shown fulfilled: ${notShown().join(", ")}; the feed's last events:\n${tail.join("\n")}`, {
        cause: err,
      });
    });
    leave.abort();
    await feedDone;
  });
});
