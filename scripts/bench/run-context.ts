/** What every scenario step of run.ts is given: the knobs, the running stack, the results to fill, and the progress line. */
import type { BenchDirs, BenchStack } from "./bench-stack.ts";
import type { BenchResults } from "./bench-results.ts";
import type { BenchKnobs } from "./knobs.ts";

export interface Bench {
  knobs: BenchKnobs;
  stack: BenchStack;
  results: BenchResults;
  dirs: BenchDirs;
  /** One line of progress on stderr. */
  say: (msg: string) => void;
}
