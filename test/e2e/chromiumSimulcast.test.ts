import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeErrors } from "../../src/testkit/probe.ts";
import { launchChromium } from "../helpers/browser.ts";
import { startLab, type Lab } from "../helpers/browserLab.ts";
import { openRecbotPage } from "../helpers/pageCall.ts";
import { pageSimulcast } from "../helpers/pageSimulcast.ts";

const run = promisify(execFile);

/** Every decoded video frame's size and time, and the runs of equal sizes. */
async function frameSizes(file: string): Promise<{ frames: { t: number; size: string }[]; runs: { size: string; from: number; frames: number }[] }> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time,width,height", "-of", "json", file], { maxBuffer: 64 << 20 });
  const frames = (JSON.parse(stdout).frames as { pts_time: string; width: number; height: number }[]).map((f) => ({ t: Number(f.pts_time), size: `${f.width}x${f.height}` }));
  const runs: { size: string; from: number; frames: number }[] = [];
  for (const f of frames) {
    if (runs.at(-1)?.size === f.size) runs.at(-1)!.frames++;
    else runs.push({ size: f.size, from: f.t, frames: 1 });
  }
  return { frames, runs };
}

/**
 * Chromium publishes three simulcast encodings (rids q, h, f: 320x180, 640x360, 1280x720 VP8 from its fake camera);
 * recbot negotiates simulcast, receives all three and records one: the largest (config simulcastLayer), switching
 * only at a keyframe of the new layer when the recorded one stops or a larger one returns (src/media/layerSelector.ts).
 */
describe("Chromium simulcast: recbot records one layer", () => {
  let lab: Lab<Browser>;
  let dir: string;
  let page: Page;
  let wsUrl: string;

  beforeAll(async () => {
    lab = await startLab("simulcast", () => launchChromium());
    ({ dir, ws: wsUrl } = lab);
    page = await openRecbotPage(lab.browser, lab.base);
  });
  afterAll(() => lab?.close());

  it("all three layers sent → simulcast negotiated and the file is the top layer (1280x720)", async () => {
    const r = await pageSimulcast(page, { wsUrl, seconds: 4 });
    expect(r.errors).toEqual([]);
    expect(r.answer).toMatch(/^a=simulcast:recv q;h;f\r?$/m);
    expect(r.answer).toMatch(/^a=extmap:\d+ urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r?$/m);
    const sent = Object.fromEntries(r.layers.map((l) => [l.rid, l]));
    expect(sent.f?.frameWidth, JSON.stringify(r.layers)).toBe(1280);
    expect(r.recordings.map((x) => x.state)).toEqual(["finished"]);
    const file = path.join(dir, r.recordings[0].file); // recbot names files inside its recordings directory
    const { frames, runs } = await frameSizes(file);
    const meta = JSON.parse(await readFile(file.replace(/\.webm$/, ".json"), "utf8"));
    const detail = `layers sent ${JSON.stringify(r.layers)}; file runs ${JSON.stringify(runs)}; sidecar layers ${JSON.stringify(meta.layers)}`;
    // Chromium may turn its top layer on a moment after the others (as its estimate grows): until then the file
    // has the best layer it gets, then the top one from its first keyframe on, for every frame it sent.
    expect(runs.at(-1)!.size, detail).toBe("1280x720");
    expect(runs.length, detail).toBeLessThanOrEqual(2);
    expect(frames.filter((f) => f.size === "1280x720").length / sent.f.framesSent, detail).toBeGreaterThanOrEqual(0.9);
    expect(await decodeErrors(file)).toBe("");
    expect(meta.layers.at(-1).rid, detail).toBe("f");
    expect(meta.layers[0].fromMs, detail).toBe(0);
    expect(meta.tracks).toEqual([{ kind: "video", codec: "vp8" }, { kind: "audio", codec: "opus" }]);
  });

  it("top layer off mid-call (active:false) → the file goes on at the next layer without a decode error, and back to the top", async () => {
    const r = await pageSimulcast(page, { wsUrl, seconds: 7, topOff: { from: 2, to: 4.5 } });
    expect(r.errors).toEqual([]);
    expect(r.recordings.map((x) => x.state)).toEqual(["finished"]);
    const file = path.join(dir, r.recordings[0].file); // recbot names files inside its recordings directory
    const { frames, runs } = await frameSizes(file);
    const meta = JSON.parse(await readFile(file.replace(/\.webm$/, ".json"), "utf8"));
    const detail = `file runs ${JSON.stringify(runs)}; sidecar layers ${JSON.stringify(meta.layers)}; sent ${JSON.stringify(r.layers)}`;
    // (Until the top layer's first keyframe the file may start, for a frame or two, on a smaller layer.)
    const top = runs.findIndex((x) => x.size === "1280x720");
    expect(runs[top]?.from, detail).toBeLessThan(1);
    const firstF = meta.layers.findIndex((l: { rid: string }) => l.rid === "f");
    runs.splice(0, top);
    expect(runs.map((x) => x.size), detail).toEqual(["1280x720", "640x360", "1280x720"]);
    expect(meta.layers.slice(firstF).map((l: { rid: string }) => l.rid), detail).toEqual(["f", "h", "f"]);
    // The top layer was off for 2.5 s: the file shows the next layer for about that long, less the time to notice
    // (600 ms without frames) and get its keyframe (generous bounds for load). The file's start holds frames until
    // sender reports place the tracks (syncWaitMs), so its clock starts before the page's timer: durations, not times.
    const middle = runs[2].from - runs[1].from;
    expect(runs[1].from, detail).toBeGreaterThan(1.5);
    expect(middle, detail).toBeGreaterThan(1);
    expect(middle, detail).toBeLessThan(3.5);
    expect(frames.at(-1)!.t - runs[2].from, detail).toBeGreaterThan(1);
    // Time only moves forward, and no hole in the picture longer than the stale time plus a keyframe round trip.
    const steps = frames.slice(1).map((f, i) => f.t - frames[i].t);
    expect(Math.min(...steps), detail).toBeGreaterThan(0);
    expect(Math.max(...steps), detail).toBeLessThan(1.5);
    expect(await decodeErrors(file)).toBe("");
  });
});
