/**
 * The suite's reporter: node's `spec` output, and before the closing counts the slowest test files
 * with how long each took (its own run time, hooks included, as the runner measured it), so the
 * suite's cost is seen on every run.
 */
import path from "node:path";
import { spec } from "node:test/reporters";

interface TestEvent {
  type: string;
  data: { file?: string; duration_ms?: number };
}

const SHOWN = 10;

function table(files: Map<string, number>): string {
  const total = [...files.values()].reduce((a, b) => a + b, 0);
  const rows = [...files.entries()].sort((a, b) => b[1] - a[1]).slice(0, SHOWN);
  const names = rows.map(([f, ms]) => [path.relative(process.cwd(), f), `${(ms / 1000).toFixed(1)} s`] as const);
  const width = Math.max(...names.map(([f]) => f.length));
  const lines = names.map(([f, t]) => `  ${f.padEnd(width)}  ${t.padStart(8)}`);
  return `\nslowest test files (${rows.length} of ${files.size}; ${(total / 1000).toFixed(0)} s of test time in all):\n${lines.join("\n")}\n\n`;
}

function* drain(stream: InstanceType<typeof spec>): Generator<string> {
  for (let chunk: string | Buffer | null; (chunk = stream.read() as string | Buffer | null) !== null;) yield chunk.toString();
}

export default async function* slowestFiles(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  // spec's transform answers each event synchronously: what it writes is readable right after.
  const out = new spec();
  const files = new Map<string, number>();
  let shown = false;
  for await (const event of source) {
    const { file, duration_ms: ms } = event.data;
    if (event.type === "test:summary" && file && ms !== undefined) files.set(file, ms);
    // The first diagnostic that belongs to no file opens the run's closing counts.
    if (event.type === "test:diagnostic" && !file && !shown && files.size > 0) {
      shown = true;
      yield table(files);
    }
    out.write(event);
    yield* drain(out);
  }
  out.end();
  yield* drain(out);
}
