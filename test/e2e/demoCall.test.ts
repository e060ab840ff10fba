import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, makeCaptureFiles } from "../helpers/browser.ts";
import { startLab, type Lab } from "../helpers/browserLab.ts";

const artifacts = path.resolve("test-artifacts");

// Composites run niced (nice 10): on a machine busy with live work they take their time, by design.
describe("the demo page's call mode, two tabs in Chromium", { timeout: 240_000 }, () => {
  let lab: Lab<Browser>;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    lab = await startLab("democall", async () => launchChromium(await makeCaptureFiles()));
    ({ browser, base } = lab);
  });
  afterAll(() => lab?.close());

  it("two tabs join one call, see each other peer to peer, leave; both recordings and the composite are listed", async () => {
    const tabs = await Promise.all([0, 1].map(() => browser.newPage({ viewport: { width: 1180, height: 1200 } })));
    const pageErrors: string[] = [];
    for (const [i, tab] of tabs.entries()) {
      tab.on("pageerror", (e) => pageErrors.push(e.message));
      await tab.goto(base + "/");
      await tab.fill("#call-id", "demo-call");
      await tab.fill("#call-name", i === 0 ? "Ann" : "Ben");
      await tab.click("#call-join");
      await tab.waitForSelector("#call-leave:not([disabled])", { timeout: 20_000 });
    }
    // Each tab plays the other's video, received peer to peer.
    for (const tab of tabs) {
      await tab.waitForFunction(() => {
        const v = document.querySelector("figure[id^=peer-] video") as HTMLVideoElement | null;
        return !!v && v.videoWidth > 0 && v.currentTime > 0.5;
      }, null, { timeout: 20_000 });
    }
    const captions = await Promise.all(tabs.map((t) => t.$eval("figure[id^=peer-] figcaption", (f) => f.textContent)));
    expect(captions).toEqual(["Ben", "Ann"]);
    await tabs[0].screenshot({ path: path.join(artifacts, "demo-call.png"), fullPage: true });
    await tabs[1].waitForTimeout(1500);
    for (const tab of tabs) await tab.click("#call-leave");

    const tab = tabs[1];
    await tab.waitForFunction(() => [...document.querySelectorAll("#recordings tbody tr")].some((tr) =>
      tr.querySelectorAll("td")[2]?.textContent?.includes("composite") && tr.querySelectorAll("td")[5]?.textContent === "finished"), null, { timeout: 90_000 });
    const rows = await tab.$$eval("#recordings tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    const figures = `[demo call] listed ${JSON.stringify(rows.map((r) => [r[1], r[2], r[5]]))}`;
    expect(rows.filter((r) => r[5] === "finished"), figures).toHaveLength(3);
    expect(rows.some((r) => r[2]?.includes("(call demo-call: Ann)")), figures).toBe(true);
    expect(rows.some((r) => r[2]?.includes("(call demo-call: Ben)")), figures).toBe(true);
    expect(rows.some((r) => r[2]?.includes(".mp4 (call demo-call: composite)")), figures).toBe(true);
    expect(pageErrors, figures).toEqual([]);
  });
});
