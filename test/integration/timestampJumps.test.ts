import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe } from "../../src/testkit/probe.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { connectRaw, rtp } from "../../src/testkit/rawPeer.ts";
import { serverPerTest } from "../helpers/testServer.ts";

/** Issue 16 item 3: RTP timestamp jumps must not turn a few packets into hours of media. */

const { start, closeAfter } = serverPerTest("jumps");
let clip: Clip;
beforeAll(async () => {
  clip = await makeClip({ seconds: 4 });
});

/** The event loop's worst stall while `work` runs (a 10 ms timer that should fire on time). */
async function worstStallDuring<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  try {
    return { result: await work(), stallMs: worst };
  } finally {
    clearInterval(timer);
  }
}

describe("RTP timestamp jumps (issue 16 item 3)", () => {
  it("300 Opus packets whose timestamps jump ~600 s each make a file as long as the audio they carry, not 12 hours", async () => {
    const { ws, dir } = await start();
    const peer = closeAfter(await connectRaw(ws, [{ kind: "audio", stream: "a" }]));
    const startedAt = performance.now();
    const { result: meta, stallMs } = await worstStallDuring(async () => {
      let ts = 12345;
      for (let i = 0; i < 300; i++) {
        await peer.send(0, rtp({ seq: 100 + i, ts, marker: i === 0, payload: clip.audio[i % clip.audio.length].data }));
        ts = (ts + 48000 * 599 + 960) >>> 0; // each packet ~599 s after the previous one: under the clock's 600 s "new timeline" rule
        if (i % 30 === 29) await sleep(20);
      }
      // Then one second of ordinary audio.
      for (let i = 0; i < 50; i++) {
        await peer.send(0, rtp({ seq: 400 + i, ts: (ts + i * 960) >>> 0, payload: clip.audio[i].data }));
        await sleep(20);
      }
      const [finished] = await peer.hangUp();
      return finished;
    });
    const callSeconds = (performance.now() - startedAt) / 1000;
    expect(meta, "no recording finished").toBeDefined();
    const file = path.join(dir, meta.file);
    const sidecar = JSON.parse(readFileSync(file.replace(/\.webm$/, ".json"), "utf8"));
    const p = await probe(file);
    const duration = Number(p.format.duration);
    const figures =
      `call ${callSeconds.toFixed(1)} s; file ${duration.toFixed(1)} s, state ${sidecar.state}, frames ${sidecar.frames}, ` +
      `silence filled ${sidecar.trackStats?.[0]?.silenceFilled}, jumps ${sidecar.trackStats?.[0]?.timelineJumps}; worst event-loop stall ${stallMs.toFixed(0)} ms`;
    expect(sidecar.state, figures).toBe("finished");
    // 350 packets of 20 ms carry 7 s of audio; the timeline may run 3 s ahead of real time at most.
    expect(duration, figures).toBeGreaterThan(6.5);
    expect(duration, figures).toBeLessThan(Math.max(7, callSeconds) + 3.5);
    expect(sidecar.frames, figures).toBeLessThan((Math.max(7, callSeconds) + 3.5) * 50);
    expect(sidecar.trackStats[0].timelineJumps, figures).toBeGreaterThanOrEqual(290);
    expect(sidecar.trackStats[0].timelineJumps, figures).toBeLessThanOrEqual(300);
    expect(await decodeErrors(file)).toBe("");
  });

  it("applies maxRecordingSeconds per frame: the file never runs past the limit", async () => {
    const { ws, dir } = await start({ maxRecordingSeconds: 2 });
    const peer = closeAfter(await connectRaw(ws, [{ kind: "audio", stream: "a" }]));
    const t0 = performance.now();
    for (let i = 0; i < 200 && peer.client.closeCode === undefined; i++) {
      await peer.send(0, rtp({ seq: i, ts: 5000 + i * 960, marker: i === 0, payload: clip.audio[i].data }));
      const wait = t0 + (i + 1) * 20 - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const finished = await peer.client.waitFor((m) => m.type === "recording" && m.state !== "started", 20_000);
    expect(peer.client.messages).toContainEqual(expect.objectContaining({ type: "error", code: "max_duration" }));
    const duration = Number((await probe(path.join(dir, finished.file))).format.duration);
    expect(duration).toBeGreaterThan(1.9);
    expect(duration).toBeLessThanOrEqual(2.05);
    expect(await decodeErrors(path.join(dir, finished.file))).toBe("");
  });
});
