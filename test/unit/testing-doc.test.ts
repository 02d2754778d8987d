/**
 * docs/testing.md lists every test file, test/unit's included: each `test/**\/*.test.ts` must head
 * a list item there (the item starts with its name, relative to test/, in backticks; several names
 * may share one item, as in "- `a.test.ts`, `b.test.ts`: …"), and every test file the page names
 * anywhere must exist. A new file, or a renamed or deleted one, fails here until the page says so.
 */
import assert from "node:assert/strict";
import { globSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const TEST_DIR = path.join(ROOT, "test");
const doc = readFileSync(path.join(ROOT, "docs", "testing.md"), "utf8");

/** Every test file the runner picks up (`npm test` runs `test/**\/*.test.ts`), relative to test/. */
const onDisk = globSync("**/*.test.ts", { cwd: TEST_DIR }).map((f) => f.split(path.sep).join("/"));

/** The file names heading a list item: "- `a.test.ts`, `b.test.ts` and `c.test.ts`: …". */
const listed = new Set(
  [...doc.matchAll(/^- ((?:`[^`]+`(?:, | and )?)+):/gm)].flatMap((m) =>
    [...m[1]!.matchAll(/`([^`]+\.test\.ts)`/g)].map((n) => n[1]!),
  ),
);

/** Every test file named anywhere on the page, with or without its `test/` prefix; globs are not names. */
const named = new Set([...doc.matchAll(/(?<![\w*./-])([\w./-]+\.test\.ts)\b/g)].map((m) => m[1]!.replace(/^(\.\/)?test\//, "")));

describe("docs/testing.md", () => {
  it("has a list item for every test file", () => {
    const missing = onDisk.filter((f) => !listed.has(f)).sort();
    assert.deepEqual(
      missing,
      [],
      `test files docs/testing.md does not describe (add an item "- \`<name>\`: …"):\n  ${missing.join("\n  ")}`,
    );
  });

  it("names no test file that does not exist", () => {
    const gone = [...named].filter((f) => !onDisk.includes(f)).sort();
    assert.deepEqual(gone, [], `docs/testing.md names test files that do not exist:\n  ${gone.join("\n  ")}`);
  });

  it("finds the files it checks", () => {
    // Guards the two checks above against a pattern that stopped matching anything.
    assert.ok(onDisk.includes("unit/testing-doc.test.ts") && onDisk.includes("web.test.ts"));
    assert.ok(listed.has("web.test.ts"), "the page's list items are read");
  });
});
