/**
 * Another release of the worker for upgrade tests: this checkout's `worker/` and `shared/` copied to
 * a directory of their own with a source edit applied, which is what a new image would contain.
 * Each edit names the line it goes before; if that line is gone the build fails, so the test
 * cannot go on quietly running the old code as "v2".
 */
import { cpSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../../scripts/stack/stack.ts";

export interface SourceEdit {
  /** Path inside the repository, e.g. `worker/order-fulfilment.workflow.ts`. */
  file: string;
  /** Text found exactly once in that file; `insert` (whole lines) goes before the line holding it. */
  before: string;
  insert: string;
}

/** Builds the release in `dir` (which must be empty or absent) and returns it, for `startWorker({ root })`. */
export function buildWorkerRelease(dir: string, edits: SourceEdit[]): string {
  for (const part of ["worker", "shared"]) cpSync(path.join(ROOT, part), path.join(dir, part), { recursive: true });
  cpSync(path.join(ROOT, "package.json"), path.join(dir, "package.json"));
  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  for (const edit of edits) {
    const file = path.join(dir, edit.file);
    const source = readFileSync(file, "utf8");
    const at = source.indexOf(edit.before);
    if (at < 0 || source.indexOf(edit.before, at + 1) >= 0) {
      throw new Error(`${edit.file}: expected exactly one line ${JSON.stringify(edit.before)} to insert before`);
    }
    const lineStart = source.lastIndexOf("\n", at) + 1;
    writeFileSync(file, source.slice(0, lineStart) + edit.insert + source.slice(lineStart));
  }
  return dir;
}
