import { mkdtempSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { verifyRecording } from "../helpers/verifyRecording.ts";
import { publish } from "../../src/testkit/publisher.ts";

describe("a werift client publishes VP8+Opus over /ws", () => {
  let recbot: Recbot;
  let wsUrl: string;
  let clip: Clip;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-rec-"));

  beforeAll(async () => {
    clip = await makeClip({ seconds: 5 });
    recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn" });
    wsUrl = (await recbot.listen()).replace("http", "ws") + "/ws";
  });
  afterAll(async () => {
    await recbot?.close();
  });

  it("records a WebM file with every frame, the right duration, and no decode errors", async () => {
    const result = await publish({ url: wsUrl, clip });
    expect(result.finished.state).toBe("finished");
    // Clients get the file's name in the recordings directory, never the server's path.
    expect(result.finished.file).toBe(path.basename(result.finished.file));
    const file = path.join(dir, result.finished.file as string);
    expect(file.endsWith(".webm")).toBe(true);

    // WebM, vp8 + opus, 320x240, duration ±5 %, clean decode; and on a loss-free loopback path, every frame the
    // publisher sent: the clip starts with a keyframe, so nothing before it is dropped.
    const check = await verifyRecording(result, { dir, minFrameRatio: 1 });
    expect(check.videoFramesRecorded).toBe(result.framesSent.video);
    expect(check.audioFramesRecorded).toBe(result.framesSent.audio);

    const meta = JSON.parse(await readFile(file.replace(/\.webm$/, ".json"), "utf8"));
    expect(meta).toMatchObject({ state: "finished", sessionId: result.sessionId, tracks: [{ kind: "video", codec: "vp8" }, { kind: "audio", codec: "opus" }] });

  });
});
