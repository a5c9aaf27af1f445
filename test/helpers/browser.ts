// A real browser for tests, in one place: Debian's Chromium driven by playwright-core, headless,
// with a fresh profile, against the page served by src/web/server.ts on 127.0.0.1 (the golden
// cases mounted at /golden/).
//
// Locally a missing Chromium (or an unbuilt page) is a skip with the reason and the fix. With env
// PERCEIVER_AR_REQUIRE_BROWSER=1 (set by .ci/run) it is a FAILURE: a failing test is registered
// in the calling file, so CI cannot go green with the browser tests skipped.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { unavailable } from "./requirement.js";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { PACKAGE_ROOT, startWebServer, type WebServer } from "../../src/web/server.js";
import { GOLDEN_ROOT } from "./golden.js";

export const REQUIRE_BROWSER_ENV = "PERCEIVER_AR_REQUIRE_BROWSER";
export const CHROMIUM = process.env.PERCEIVER_AR_CHROMIUM ?? "/usr/bin/chromium";
/** Flags for a quiet, reproducible headless run (no network of its own, no updates, no sync). */
const CHROMIUM_FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** Why the browser tests cannot run here, or false when they can. Registers a failing test under REQUIRE_BROWSER. */
export function browserSkip(): string | false {
  let reason: string | null = null;
  if (!fs.existsSync(CHROMIUM)) reason = `Chromium is not installed at ${CHROMIUM} (apt-get install chromium, or set PERCEIVER_AR_CHROMIUM)`;
  else if (!fs.existsSync(path.join(PACKAGE_ROOT, "dist", "web", "worker.js"))) reason = "the page is not built (npm run build)";
  if (reason === null) return false;
  return unavailable("a browser", "browser", REQUIRE_BROWSER_ENV, reason);
}

export interface BrowserPage {
  page: Page;
  server: WebServer;
  context: BrowserContext;
  /** Sends a request (protocol.ts) to the page's worker and returns its reply. */
  call<T>(request: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/** Serves the page, opens it in a fresh headless Chromium and waits until its worker is ready. */
export async function openPage(): Promise<BrowserPage> {
  const server = await startWebServer({ port: 0, mounts: { "/golden/": GOLDEN_ROOT } });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "perceiver-ar-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 }).catch((e: Error) => {
    throw new Error(`the page did not get ready: ${e.message}; page errors: ${errors.join("; ")}`);
  });
  return {
    page,
    server,
    context,
    call: <T>(request: Record<string, unknown>) => page.evaluate((r) => (window as unknown as { perceiverArPage: { worker: { call(r: unknown): Promise<unknown> } } }).perceiverArPage.worker.call(r), request) as Promise<T>,
    close: async () => {
      await context.close();
      await server.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
