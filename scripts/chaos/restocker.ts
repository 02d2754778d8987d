/**
 * An operator restocking during the chaos run through the same path a person uses: sign in at
 * `/ops`, load `/ops/stock` (its form carries a fresh movement id), and submit the restock for one
 * product, twice at once (a double click). After a 5xx or a network error it submits the same
 * movement id again, signing in again when the session was lost (Valkey restarts empty). It never
 * throws, it reports: the invariants then count the movements the database recorded.
 */
import { backoff, RETRYABLE, Session } from "./shopper.ts";

export interface RestockOptions {
  webUrl: string;
  /** A named operator account (the run creates one). */
  operator: { name: string; password: string };
  sku: string;
  units: number;
  deadlineMs: number;
}

export interface RestockOutcome {
  sku: string;
  units: number;
  movementId: string | null;
  /** A 303 came back for the movement: the Stock service recorded it. */
  confirmed: boolean;
  submitAttempts: number;
  error: string | null;
}

function formFields(html: string, sku: string): { csrf: string; movementId: string } | null {
  const form = new RegExp(`<form[^>]*data-sku="${sku}" data-kind="restock"[\\s\\S]*?</form>`).exec(html)?.[0] ?? "";
  const csrf = /name="_csrf" value="([^"]*)"/.exec(form)?.[1];
  const movementId = /name="movementId" value="([^"]*)"/.exec(form)?.[1];
  return csrf && movementId ? { csrf, movementId } : null;
}

export async function restock(opts: RestockOptions): Promise<RestockOutcome> {
  const out: RestockOutcome = {
    sku: opts.sku,
    units: opts.units,
    movementId: null,
    confirmed: false,
    submitAttempts: 0,
    error: null,
  };
  const deadline = Date.now() + opts.deadlineMs;
  let session = new Session(opts.webUrl);

  /** A signed-in session's stock page: the restock form's CSRF token and movement id. */
  const stockForm = async (): Promise<{ csrf: string; movementId: string } | null> => {
    const res = await session.fetch("/ops/stock");
    const html = await res.text();
    if (res.status === 403) {
      session = new Session(opts.webUrl);
      const login = await session.fetch("/ops");
      const csrf = /name="_csrf" value="([^"]*)"/.exec(await login.text())?.[1] ?? "";
      const signIn = await session.fetch("/ops/login", {
        method: "POST",
        body: new URLSearchParams({ _csrf: csrf, name: opts.operator.name, password: opts.operator.password }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      await signIn.text();
      out.error = signIn.status === 303 ? null : `sign-in answered ${signIn.status}`;
      return null;
    }
    if (!res.ok) {
      out.error = `GET /ops/stock answered ${res.status}`;
      return null;
    }
    return formFields(html, opts.sku);
  };

  const submit = async (csrf: string, movementId: string): Promise<number> => {
    out.submitAttempts++;
    const res = await session.fetch(`/ops/stock/${opts.sku}`, {
      method: "POST",
      body: new URLSearchParams({
        _csrf: csrf,
        kind: "restock",
        movementId,
        units: String(opts.units),
        reason: "chaos restock",
      }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    const text = await res.text();
    if (res.status !== 303) out.error = `POST /ops/stock/${opts.sku} answered ${res.status}: ${text.slice(0, 120)}`;
    return res.status;
  };

  for (let attempt = 0; Date.now() < deadline; attempt++) {
    try {
      const form = await stockForm();
      if (form) {
        // The movement id of the first form loaded, whatever session or token the retry needs.
        out.movementId ??= form.movementId;
        const statuses =
          attempt === 0 || out.submitAttempts === 0
            ? await Promise.all([submit(form.csrf, out.movementId), submit(form.csrf, out.movementId)])
            : [await submit(form.csrf, out.movementId)];
        if (statuses.includes(303)) {
          out.confirmed = true;
          out.error = null;
          return out;
        }
        if (!statuses.every((s) => RETRYABLE.has(s) || s === 403)) return out;
      }
    } catch (err) {
      out.error = `restock of ${opts.sku}: ${(err as Error).message}`;
    }
    await backoff(attempt, null);
  }
  return out;
}
