import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, makeCaptureFiles } from "../helpers/browser.ts";
import { startLab, type Lab } from "../helpers/browserLab.ts";

const artifacts = path.resolve("test-artifacts");

describe("the demo page, driven in Chromium", () => {
  let lab: Lab<Browser>;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    lab = await startLab("demo", async () => launchChromium(await makeCaptureFiles()));
    ({ browser, base } = lab);
  });
  afterAll(() => lab?.close());

  it("publishes, shows the call, stops, lists and plays the recording; screenshot saved", async () => {
    const page = await browser.newPage({ viewport: { width: 1180, height: 1000 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(base + "/");
    await expect(page.locator("#no-recordings")).toBeTruthy();
    await page.selectOption("#video-codec", { label: "VP9" });
    await page.check("#with-canvas");
    await page.click("#publish");
    await page.waitForFunction(() => document.querySelector("#conn-state")?.textContent === "connected", null, { timeout: 20_000 });
    await page.waitForFunction(() => document.querySelector("#rec-state")?.textContent === "recording", null, { timeout: 20_000 });
    await page.waitForTimeout(3000);
    const pair = await page.textContent("#pair");
    const sending = await page.textContent("#sending");
    const elapsed = await page.textContent("#elapsed");
    expect(pair).toMatch(/host\/udp 127\.0\.0\.1:\d+ ⇄ host\/udp 127\.0\.0\.1:\d+/);
    expect(sending).toMatch(/VP9/);
    expect(elapsed).toMatch(/^[1-9]\d* s$/);
    await page.screenshot({ path: path.join(artifacts, "demo-recording.png") });

    // Listed while they are being written.
    await page.waitForFunction(() => [...document.querySelectorAll("#recordings tbody tr")].filter((tr) => tr.querySelectorAll("td")[5]?.textContent === "recording").length === 2, null, { timeout: 5_000 });
    await page.click("#stop");
    await page.waitForFunction(() => [...document.querySelectorAll("#recordings tbody tr")].filter((tr) => tr.querySelectorAll("td")[5]?.textContent === "finished").length === 2, null, { timeout: 20_000 });
    const rows = await page.$$eval("#recordings tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(rows.every((r) => r[5] === "finished")).toBe(true);
    expect(rows.map((r) => r[1]).sort()).toEqual(["opus + vp9", "vp9"]);

    await page.click("#recordings tbody tr:first-child button.play");
    await page.waitForFunction(() => {
      const v = document.querySelector("#player") as HTMLVideoElement;
      return v.readyState >= 2 && v.currentTime > 0.3;
    }, null, { timeout: 15_000 });
    const played = await page.$eval("#player", (v) => ({ duration: (v as HTMLVideoElement).duration, width: (v as HTMLVideoElement).videoWidth }));
    expect(played.duration).toBeGreaterThan(2);
    expect(played.width).toBeGreaterThan(0);
    expect(await page.isHidden("#errors")).toBe(true);
    await page.screenshot({ path: path.join(artifacts, "demo.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it("shows the server's error to the person (a codec recbot does not record)", async () => {
    const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
    await page.goto(base + "/");
    // G.722 is offered by Chromium but not recorded by recbot: add it as a choice and pick it.
    await page.$eval("#audio-codec", (s) => (s as HTMLSelectElement).add(new Option("G.722", "audio/G722")));
    await page.selectOption("#audio-codec", "audio/G722");
    await page.click("#publish");
    await page.waitForSelector("#errors:not([hidden])", { timeout: 20_000 });
    const text = await page.textContent("#errors");
    expect(text).toMatch(/unsupported_codec: no common audio codec: offer has g722/);
    expect(await page.isEnabled("#publish")).toBe(true);
    await page.screenshot({ path: path.join(artifacts, "demo-error.png") });
  });

  it("lets recbot call: the page answers with H.264 + PCMA asked for in the call message, and the recording is listed", async () => {
    const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
    await page.goto(base + "/");
    await page.selectOption("#video-codec", { label: "H.264" });
    await page.selectOption("#audio-codec", "audio/PCMA");
    await page.check("#as-call");
    await page.click("#publish");
    await page.waitForFunction(() => document.querySelector("#rec-state")?.textContent === "recording", null, { timeout: 20_000 });
    await page.waitForTimeout(2000);
    const sending = await page.textContent("#sending");
    await page.click("#stop");
    await page.waitForFunction(() => [...document.querySelectorAll("#recordings tbody tr")].some((tr) => tr.querySelectorAll("td")[1]?.textContent === "pcma + h264" && tr.querySelectorAll("td")[5]?.textContent === "finished"), null, { timeout: 20_000 });
    expect(sending).toMatch(/H264/);
    expect(await page.isHidden("#errors")).toBe(true);
  });

  it("serves recording files only for valid ids", async () => {
    const bad = await fetch(`${base}/recordings/..%2F..%2Fetc%2Fpasswd/file`);
    expect(bad.status).toBe(400);
    const missing = await fetch(`${base}/recordings/rec_20990101_000000_deadbeef/file`);
    expect(missing.status).toBe(404);
    const { items } = (await (await fetch(`${base}/recordings`)).json()) as { items: { id: string }[] };
    const file = await fetch(`${base}/recordings/${items[0].id}/file`, { headers: { range: "bytes=0-3" } });
    expect(file.status).toBe(206);
    expect(Buffer.from(await file.arrayBuffer()).toString("hex")).toBe("1a45dfa3"); // EBML magic
  });
});
