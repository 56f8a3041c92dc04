/**
 * A real browser for the sealing page's specs: Debian's chromium (scripts/test-tools.sh)
 * driven by playwright-core, which brings no browser of its own. Every request the page makes is
 * recorded, bodies and headers included, so specs can prove what left the page.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.SEALED_SECRETS_CHROMIUM || '/usr/bin/chromium';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  /** Every header sent (cookies included), once `settled()` resolved. */
  headers: Record<string, string>;
  readonly body: Buffer | null;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: run npm run test:tools (or set SEALED_SECRETS_CHROMIUM)`);
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export interface OpenPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every request made so far, in order. */
  readonly requests: RecordedRequest[];
  /** Console errors and page errors (a CSP violation shows up here). */
  readonly errors: string[];
  /** Resolves once the headers of every request so far are recorded. */
  settled(): Promise<void>;
}

/** A fresh context (no shared cookies or cache), the page at `url`, recording from the first request. */
export async function openPage(browser: Browser, url: string, options: { colorScheme?: 'light' | 'dark'; downloads?: boolean } = {}): Promise<OpenPage> {
  const context = await browser.newContext({ colorScheme: options.colorScheme ?? 'light', acceptDownloads: options.downloads ?? false, viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const requests: RecordedRequest[] = [];
  const errors: string[] = [];
  const pending: Promise<unknown>[] = [];
  context.on('request', (request) => {
    const recorded: RecordedRequest = { method: request.method(), url: request.url(), headers: request.headers(), body: request.postDataBuffer() };
    requests.push(recorded);
    pending.push(request.allHeaders().then((headers) => { recorded.headers = headers; }, () => {}));
  });
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(url);
  return { context, page, requests, errors, settled: async () => { await Promise.all(pending); } };
}
