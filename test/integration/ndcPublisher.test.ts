// libdatachannel (node-datachannel: libjuice ICE, its own DTLS and SRTP) as an independent client stack:
// it publishes the pre-encoded VP8 + Opus clip over /ws with RTCP sender reports, and the file is checked.
import { mkdtempSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Recbot } from "../../src/index.ts";
import { frameIntervals } from "../../bench/frameIntervals.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { ndcCleanup, publishNdc } from "../helpers/ndcPublisher.ts";
import { verifyRecording } from "../helpers/verifyRecording.ts";
import { startTestServer, TEST_LOG } from "../helpers/testServer.ts";

describe("a libdatachannel client publishes VP8+Opus over /ws", () => {
  let recbot: Recbot;
  let wsUrl: string;
  let clip: Clip;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-ndc-"));

  beforeAll(async () => {
    clip = await makeClip({ seconds: 5, intra: true });
    ({ recbot, ws: wsUrl } = await startTestServer("ndc", { recordingsDir: dir, logLevel: TEST_LOG }));
  });
  afterAll(async () => {
    await recbot?.close();
    ndcCleanup();
  });

  it("records one WebM with both tracks, every frame sent, the sent duration and the sent frame intervals", async () => {
    const result = await publishNdc({ url: wsUrl, clip, recordingsDir: dir });
    expect(result.finished.state).toBe("finished");
    expect(result.finished.file).toBe(path.basename(result.finished.file));
    const file = path.join(dir, result.finished.file as string);
    const check = await verifyRecording(result, { dir, minFrameRatio: 1 });
    expect(check.videoFramesRecorded).toBe(result.framesSent.video);
    expect(check.audioFramesRecorded).toBe(result.framesSent.audio);
    const meta = JSON.parse(await readFile(file.replace(/\.webm$/, ".json"), "utf8"));
    expect(meta).toMatchObject({ state: "finished", tracks: [{ kind: "video", codec: "vp8" }, { kind: "audio", codec: "opus" }] });

    expect(result.offerToKeyframeOnDiskMs, "offer→keyframe on disk").toBeLessThan(10_000);
    // Every frame interval in the file equals the sender's RTP timestamp delta (libdatachannel sends correct
    // sender reports), within Matroska's 1 ms rounding: frame for frame, in order.
    const intervals = await frameIntervals(file, result.rtpTimestamps);
    expect(intervals.video.compared).toBe(result.framesSent.video - 1);
    expect(intervals.audio.compared).toBe(result.framesSent.audio - 1);
    expect(intervals.video, "video intervals off by > 1 ms").toMatchObject({ off: 0 });
    expect(intervals.audio, "audio intervals off by > 1 ms").toMatchObject({ off: 0 });
  });
});
