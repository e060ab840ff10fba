import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { launchChromium, makeCaptureFiles, type CaptureFiles } from "./browser.ts";
import { openRecbotPage } from "./pageCall.ts";

/** What the Chromium tests share: a recbot on 127.0.0.1, Chromium fed known capture files, the recbot page open. */
export interface BrowserLab {
  recbot: Recbot;
  base: string;
  wsUrl: string;
  dir: string;
  files: CaptureFiles;
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

export async function startBrowserLab(tag: string): Promise<BrowserLab> {
  const dir = mkdtempSync(path.join(tmpdir(), `recbot-e2e-${tag}-`));
  const files = await makeCaptureFiles();
  const recbot = await createRecbot({
    host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"],
    logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn",
  });
  const base = await recbot.listen();
  const browser = await launchChromium(files);
  const page = await openRecbotPage(browser, base);
  return {
    recbot, base, wsUrl: base.replace("http", "ws") + "/ws", dir, files, browser, page,
    async close() {
      await browser.close();
      await recbot.close();
    },
  };
}
