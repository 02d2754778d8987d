/**
 * axe-core's WCAG 2.1 A and AA rules, run in a Playwright page. The shop's CSP allows only its own
 * scripts, so the page's context must be made with `bypassCSP: true` (`accessibilityContext`) for
 * the injected script to run; the page's own behaviour is otherwise unchanged.
 */
import { createRequire } from "node:module";
import type { Browser, BrowserContext, Page } from "playwright-core";

const AXE_PATH = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/** A browser context in which `axeViolations` can inject axe-core past the CSP. */
export function accessibilityContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ bypassCSP: true });
}

interface AxeResult {
  violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }>;
}

/** What axe-core puts on the page's global object. */
interface AxeGlobal {
  axe?: { run(context: unknown, options: unknown): Promise<AxeResult> };
  document: unknown;
}

/** The page's WCAG 2.1 AA violations, one line each ("rule (impact): help: targets"); none is `[]`. */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in globalThis))) await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate((tags) => {
    const g = globalThis as unknown as AxeGlobal;
    if (!g.axe) throw new Error("axe-core did not load: was the context made with bypassCSP (accessibilityContext)?");
    return g.axe.run(g.document, { runOnly: { type: "tag", values: tags } });
  }, WCAG_21_AA);
  return result.violations.map(
    (v) => `${v.id} (${v.impact ?? "?"}): ${v.help}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`,
  );
}
