import type { Browser, Page } from "playwright-core";
import { launchChromium, makeCaptureFiles, type CaptureFiles } from "./browser.ts";
import { openRecbotPage } from "./pageCall.ts";
import { startTestServer, TEST_LOG, type TestServer } from "./testServer.ts";

/** A recbot on 127.0.0.1 and a browser to drive against it; `close` closes the browser, then recbot. */
export interface Lab<B> extends TestServer {
  browser: B;
  close(): Promise<void>;
}

/** Starts a recbot (recordings in a new directory named after `tag`), then the browser `launch` makes. */
export async function startLab<B extends { close(): Promise<unknown> }>(tag: string, launch: () => Promise<B>): Promise<Lab<B>> {
  const server = await startTestServer(`e2e-${tag}`, { logLevel: TEST_LOG });
  const browser = await launch().catch(async (err) => {
    await server.recbot.close();
    throw err;
  });
  return {
    ...server, browser,
    async close() {
      await browser.close();
      await server.recbot.close();
    },
  };
}

/** What the Chromium tests share: a recbot on 127.0.0.1, Chromium fed known capture files, the recbot page open. */
export interface BrowserLab extends Lab<Browser> {
  wsUrl: string;
  files: CaptureFiles;
  page: Page;
}

export async function startBrowserLab(tag: string): Promise<BrowserLab> {
  const files = await makeCaptureFiles();
  const lab = await startLab(tag, () => launchChromium(files));
  const page = await openRecbotPage(lab.browser, lab.base);
  return { ...lab, wsUrl: lab.ws, files, page };
}
