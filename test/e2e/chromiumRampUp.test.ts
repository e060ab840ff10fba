import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/browser.ts";
import { startLab, type Lab } from "../helpers/browserLab.ts";
import { decodeErrors } from "../../src/testkit/probe.ts";
import { openRecbotPage } from "../helpers/pageCall.ts";
import { pageRampUp } from "../helpers/pageRampUp.ts";

/**
 * Quality from the first seconds (docs/media.md): Chromium's default fake camera at 1280x720 publishes VP8 to a
 * recbot with the default maxBitrateKbps (5000). recbot's answer negotiates abs-send-time and goog-remb and recbot
 * sends REMB from the moment the connection is up, so Chromium's estimate is at the REMB value at once (without it:
 * 300 kbit/s growing ~8 % a second) and a sender that keeps its resolution is at 1280x720 and its full target within
 * ~2 s. The bounds are generous (machine noise); the measured figures are in docs/media.md.
 */
const SECONDS = 6;

describe("Chromium reaches full quality quickly against recbot (REMB)", () => {
  let lab: Lab<Browser>;
  let dir: string;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    lab = await startLab("ramp", () => launchChromium()); // the built-in fake camera: any resolution asked for
    ({ dir, base } = lab);
    page = await openRecbotPage(lab.browser, base);
  });
  afterAll(() => lab?.close());

  it("negotiates abs-send-time + goog-remb and Chromium's estimate jumps to the REMB value", async () => {
    const r = await pageRampUp(page, { wsUrl: base.replace("http", "ws") + "/ws", seconds: SECONDS });
    expect(r.errors).toEqual([]);
    const video = r.answer.slice(r.answer.indexOf("m=video"));
    const pt = /^m=video \d+ \S+ (\d+)/.exec(video)![1];
    expect(video).toMatch(/^a=extmap:\d+ http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/abs-send-time\r?$/m);
    expect(video).toMatch(new RegExp(`^a=rtcp-fb:${pt} goog-remb\\r?$`, "m"));
    // werift's transport-cc feedback is per receiver and wrong for bundled audio+video (it collapsed Chromium's
    // estimate to ~50 kbit/s when tried): recbot does not negotiate the transport-wide sequence number extension.
    expect(r.answer).not.toMatch(/transport-wide-cc/);

    const first720 = r.samples.find((s) => s.frameWidth === 1280 && s.frameHeight === 720);
    const firstRemb = r.samples.find((s) => s.availableKbps >= 4500);
    const steps = r.samples.filter((s, i) => i === 0 || s.frameWidth !== r.samples[i - 1].frameWidth).map((s) => `${s.t.toFixed(1)} s ${s.frameWidth}x${s.frameHeight} target ${s.targetKbps.toFixed(0)} kbit/s`);
    const detail = `estimate ≥ 4500 kbit/s at ${firstRemb?.t.toFixed(2)} s; 1280x720 at ${first720?.t.toFixed(2)} s; resolution steps: ${steps.join(" → ")}; last sample ${JSON.stringify(r.samples.at(-1))}`;
    expect(firstRemb, `Chromium's bandwidth estimate never reached the REMB value: ${detail}`).toBeDefined();
    expect(firstRemb!.t, detail).toBeLessThan(5);
    // With its default "balanced" degradation Chromium starts a 720p camera at 640x360 and climbs one step at a
    // time by its own quality scaler (12–22 s measured): logged, not asserted (docs/media.md).

    expect(r.recordings.map((x) => x.state)).toEqual(["finished"]);
    expect(await decodeErrors(path.join(dir, r.recordings[0].file))).toBe("");
  });

  it("a sender that keeps its resolution (maintain-resolution) sends 1280x720 at its 2500 kbit/s target within seconds", async () => {
    const r = await pageRampUp(page, { wsUrl: base.replace("http", "ws") + "/ws", seconds: 10, degradationPreference: "maintain-resolution" });
    expect(r.errors).toEqual([]);
    const full = r.samples.find((s) => s.frameWidth === 1280 && s.frameHeight === 720 && s.targetKbps >= 2400);
    const last = r.samples.at(-1)!;
    // Without REMB the target is still ~500 kbit/s after 10 s (docs/media.md).
    expect(full, `target never reached 2400 kbit/s at 1280x720: last ${JSON.stringify(last)}`).toBeDefined();
    expect(r.recordings.map((x) => x.state)).toEqual(["finished"]);
  });
});
