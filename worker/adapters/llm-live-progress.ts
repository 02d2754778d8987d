/**
 * Live progress from inside a model call: text as it streams, languages as they finish.
 *
 * Seq scheme. `trackProgress` numbers a handler's step events 1, 2, 3… deterministically; the
 * content workflow gives it `blockSeqPublisher`, which stores step n with seq n × SEQ_BLOCK. The
 * seqs between two steps (n × SEQ_BLOCK + 1 … + SEQ_BLOCK − 1) belong to live `text` events
 * published from inside the step's `ctx.run`. So live events never collide with step events, and
 * "seq strictly increasing per resource" holds: every live event sits after its step event and
 * before the next one. Live events are best-effort and not durable: each carries the whole text so
 * far (not a delta), so a retried attempt, whose first seqs the store refuses as duplicates of the
 * failed attempt's, shows the older text until it overtakes it, never a mix. The step event after
 * the call carries the text the journal recorded, which is what the page keeps.
 */
import type { ProgressData, ResourceRef } from "../../shared/progress-event.ts";
import type { ProgressPublisher } from "./progress-publisher.ts";

export const SEQ_BLOCK = 1000;
const MAX_TEXT = 4000; // the progress contract's limit for one data string

/** The publisher `trackProgress` uses for content jobs: step n is stored as seq n × SEQ_BLOCK. */
export function blockSeqPublisher(publisher: ProgressPublisher): ProgressPublisher {
  return { publish: (resource, draft) => publisher.publish(resource, { ...draft, seq: draft.seq * SEQ_BLOCK }) };
}

export interface LiveOptions {
  publisher: ProgressPublisher;
  resource: ResourceRef;
  /** The seq of the step event this call follows (n × SEQ_BLOCK). */
  afterSeq: number;
  step: string;
  percent: number;
  message: string;
  data: ProgressData;
  intervalMs?: number;
}

export interface LiveFeed {
  /** Text streamed so far grows by `delta` (published at most every `intervalMs`). */
  text(delta: string): void;
  /** One more item (a language) is done. */
  item(name: string): void;
  /** Stops publishing and waits for what is in flight. */
  close(): Promise<void>;
}

export function createLiveFeed(opts: LiveOptions): LiveFeed {
  const intervalMs = opts.intervalMs ?? 120;
  let used = 0;
  let text = "";
  const items: string[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const publish = (data: ProgressData) => {
    if (closed || used >= SEQ_BLOCK - 1) return; // past the block: the next step event carries the result
    used += 1;
    const seq = opts.afterSeq + used;
    // Chained, so events leave in seq order (the publisher never throws).
    chain = chain.then(() =>
      opts.publisher.publish(opts.resource, {
        seq,
        kind: "text",
        step: opts.step,
        percent: opts.percent,
        status: "running",
        message: opts.message,
        data: { ...opts.data, ...data },
      }),
    );
  };

  return {
    text(delta) {
      text += delta;
      timer ??= setTimeout(() => {
        timer = null;
        publish({ text: text.slice(0, MAX_TEXT) });
      }, intervalMs);
    },
    item(name) {
      items.push(name);
      publish({ done: items.join(",") });
    },
    async close() {
      if (timer) clearTimeout(timer);
      closed = true;
      await chain;
    },
  };
}
