/**
 * Durable progress for one resource inside a handler. `seq` comes from the handler's own control
 * flow, which Restate replays identically, so the n-th event always has seq n. Each event is
 * published in a named step (best-effort, never failing the handler) and kept as the durable
 * snapshot in workflow state, which the shared `status` handler returns.
 */
import * as restate from "@restatedev/restate-sdk";
import { emptySnapshot, type ProgressDraft, type ProgressSnapshot, type ResourceRef } from "../shared/progress-event.ts";
import type { ProgressPublisher, PublishOutcome } from "./adapters/progress-publisher.ts";
import type { EmailRequest } from "./templates/email-templates.ts";
import { infraRetry } from "./errors.ts";

export const SNAPSHOT_STATE_KEY = "snapshot";

type Draft = Omit<ProgressDraft, "seq">;

export interface StepOptions<T> {
  /** Events that are true before the step's work begins (published first, inside the step). */
  before?: Draft[];
  /** The step's own work: idempotent, since Restate may run it again after a crash. */
  action: () => Promise<T>;
  /** Events that the finished work makes true (a function when they carry what the work returned). */
  after: Draft[] | ((result: T) => Draft[]);
  retry?: restate.RunOptions<T>;
  /** Keep the last event as the durable snapshot (the `status` handler's answer). Default true. */
  snapshot?: boolean;
  /**
   * An email the step's work makes due, tried once inside the step after its events are published
   * (no invocation, no journal entry of its own). One the mail server does not take at once is
   * handed to the tracker's `mail.handOff`, which keeps trying (see `StepMail`). A function when
   * whether it is due depends on what the work did.
   */
  email?: EmailRequest | ((result: T) => EmailRequest | undefined);
}

/**
 * How a step sends the email it makes due: `tryOnce` delivers it or says it could not (it never
 * throws: a bounce is recorded and counts as delivered, since no retry changes it); `handOff`
 * passes an undelivered one on for patient retries. The first attempt rides on the step's own
 * journal entry; only an email the server did not take costs an invocation.
 */
export interface StepMail {
  tryOnce(req: EmailRequest): Promise<boolean>;
  handOff(req: EmailRequest): void;
}

export interface ProgressTracker {
  /** Publishes the next event in a step of its own (work that reports as it goes uses `step`). */
  emit(draft: Draft): Promise<void>;
  /**
   * One named durable step that does its work and reports it: the work and its events share one
   * `ctx.run` (one journal entry, one round trip to Restate), and the events reach Valkey in one
   * round trip. A re-run after a crash re-publishes the same seqs, which the store refuses.
   */
  step<T>(name: string, opts: StepOptions<T>): Promise<T>;
  /**
   * Sends an email the handler's next steps need not wait for, in a named step of its own that runs
   * beside the next thing the handler waits for (a step, or a wait passed through `alongside`): the
   * next step starts without waiting for the mail server. `mailSent` must be awaited before the
   * handler returns, on every path.
   */
  mailBeside(name: string, email: EmailRequest | undefined): void;
  /**
   * A wait of the handler's own (a timer, a promise, a race), with the emails sent beside it: Restate
   * runs a step only while the handler waits for it, so an email waiting to go out is waited for
   * together with this. Resolves with the wait's own value.
   */
  alongside<T>(wait: restate.RestatePromise<T>): restate.RestatePromise<T>;
  /** Waits for the emails sent beside the steps, in the order they were sent, and hands on any the server did not take. */
  mailSent(): Promise<void>;
}

export function trackProgress(
  ctx: restate.WorkflowContext,
  resource: ResourceRef,
  publisher: ProgressPublisher,
  mail?: StepMail,
): ProgressTracker {
  let seq = 0;
  const beside: Array<{ email: EmailRequest; sent: restate.RestatePromise<boolean> }> = [];
  /** Emails sent beside the steps that nothing has waited for yet (so Restate has not run them). */
  let unwaited: Array<restate.RestatePromise<boolean>> = [];
  const alongside = <T>(wait: restate.RestatePromise<T>): restate.RestatePromise<T> => {
    if (unwaited.length === 0) return wait;
    const mails = unwaited;
    unwaited = [];
    return restate.RestatePromise.all([wait, ...mails]).map((values, failure) => {
      if (failure) throw failure;
      return values![0];
    });
  };
  const invocationId = ctx.request().id;
  const number = (drafts: Draft[]): ProgressDraft[] => drafts.map((d) => ({ ...d, seq: ++seq }));
  /** Publishes in order; the last event as stored (a publisher may renumber seqs), or null for none. */
  const publishAll = async (drafts: ProgressDraft[]): Promise<{ seq: number; at: string } | null> => {
    if (drafts.length === 0) return null;
    const outs = publisher.publishAll
      ? await publisher.publishAll(resource, drafts)
      : await drafts.reduce<Promise<PublishOutcome[]>>(
          async (acc, d) => [...(await acc), await publisher.publish(resource, d)],
          Promise.resolve([]),
        );
    const last = outs.at(-1)!.event;
    return { seq: last.seq, at: last.at };
  };
  const keep = (draft: ProgressDraft, stored: { seq: number; at: string } | null) => {
    const snapshot: ProgressSnapshot = { ...draft, seq: stored?.seq ?? draft.seq, at: stored?.at ?? null, invocationId };
    ctx.set(SNAPSHOT_STATE_KEY, snapshot);
  };

  return {
    async emit(draft) {
      const [numbered] = number([draft]);
      const { event } = await ctx.run(`progress: ${draft.step}`, () => publisher.publish(resource, numbered!));
      keep(numbered!, event);
    },

    async step(name, opts) {
      const before = number(opts.before ?? []);
      const made = opts.after;
      // Events built from the work's result are journalled with it, so a replay (which does not run
      // the work) has them too; fixed ones are numbered here, the same on every replay.
      const fixed = typeof made === "function" ? null : number(made);
      const from = seq;
      const emailOf = (value: Awaited<ReturnType<typeof opts.action>>) =>
        typeof opts.email === "function" ? opts.email(value) : opts.email;
      if (opts.email && !mail) throw new Error(`step "${name}" has an email to send but its tracker cannot send mail`);
      const { result, stored, built, mailed } = await alongside(
        ctx.run(
          name,
          async () => {
            const published = await publishAll(before);
            const value = await opts.action();
            const events = fixed ?? (made as (r: typeof value) => Draft[])(value).map((d, i) => ({ ...d, seq: from + i + 1 }));
            const stored = (await publishAll(events)) ?? published;
            // After the events: the page shows what the step did without waiting for the mail server.
            const email = emailOf(value);
            return { result: value, stored, built: fixed ? null : events, mailed: email ? await mail!.tryOnce(email) : true };
          },
          (opts.retry ?? infraRetry) as restate.RunOptions<{
            result: Awaited<ReturnType<typeof opts.action>>;
            stored: { seq: number; at: string } | null;
            built: ProgressDraft[] | null;
            mailed: boolean;
          }>,
        ),
      );
      if (!mailed) {
        // Rebuilt from the journalled result, so a replay hands off the same email at the same point.
        const email = emailOf(result);
        if (email) mail!.handOff(email);
      }
      const after = fixed ?? built ?? [];
      if (built) seq += built.length;
      const last = after.at(-1) ?? before.at(-1);
      if (last && opts.snapshot !== false) keep(last, stored);
      return result;
    },

    mailBeside(name, email) {
      if (!email) return;
      if (!mail) throw new Error(`"${name}" has an email to send but its tracker cannot send mail`);
      // Started now, awaited in `mailSent`: the journal has the step where it was started, and its
      // hand-off (if any) where it is awaited, the same on every replay.
      const sent = ctx.run(name, () => mail.tryOnce(email), infraRetry as restate.RunOptions<boolean>);
      beside.push({ email, sent });
      unwaited.push(sent);
    },

    alongside,

    async mailSent() {
      unwaited = [];
      for (const { email, sent } of beside.splice(0)) if (!(await sent)) mail!.handOff(email);
    },
  };
}

/** The shared `status` handler every progress-publishing workflow exposes: its durable snapshot. */
export function snapshotHandler() {
  return restate.handlers.workflow.shared(
    async (ctx: restate.WorkflowSharedContext): Promise<ProgressSnapshot> =>
      (await ctx.get<ProgressSnapshot>(SNAPSHOT_STATE_KEY)) ?? emptySnapshot,
  );
}
