/**
 * The system's Chromium driven by playwright-core (no browser download): `CHROMIUM_PATH`, else the
 * `chromium` on PATH, installed with apt-get first when it is missing and the tests run as root
 * (as the stack installs PostgreSQL and Valkey); otherwise the error says what to install.
 */
import { chromium, type Browser, type Page } from "playwright-core";
import { ensureChromium } from "../../scripts/stack/system-packages.ts";

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: await ensureChromium(),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}

/** Console errors and warnings (CSP violations among them) and page errors of `page`, collected as they happen. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

/** A new browser context signed in to /ops as `name`: the dashboard is open when it resolves. */
export async function operatorPage(browser: Browser, webUrl: string, name: string, password: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${webUrl}/ops`);
  await page.fill("#name", name);
  await page.fill("#password", password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Operations" }).waitFor();
  return page;
}

/** An SSE stream a page opened (EventSource), and the names of the events it has received so far. */
export interface WatchedStream {
  url: string;
  events: string[];
}

/**
 * Records, through the DevTools protocol, every EventSource the page opens from now on and each
 * event it receives, whether or not the page has an element for it. The web's streams send their
 * first event once they are subscribed, so "a stream has an event" means "live from here on".
 */
export async function watchSseStreams(page: Page): Promise<WatchedStream[]> {
  const cdp = await page.context().newCDPSession(page);
  const streams: WatchedStream[] = [];
  const byRequest = new Map<string, WatchedStream>();
  cdp.on("Network.requestWillBeSent", (e) => {
    if (e.type !== "EventSource") return;
    const s = { url: e.request.url, events: [] };
    byRequest.set(e.requestId, s);
    streams.push(s);
  });
  cdp.on("Network.eventSourceMessageReceived", (e) => byRequest.get(e.requestId)?.events.push(e.eventName));
  await cdp.send("Network.enable");
  return streams;
}
