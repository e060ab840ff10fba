import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";

const run = promisify(execFile);
const TOKEN = "gst-token-0123456789";
const PUBLISHER = path.join(import.meta.dirname, "../helpers/gstWhipPublisher.py");

/**
 * A second, independent WHIP publisher: GStreamer's webrtcbin (libnice ICE, GStreamer DTLS/SRTP,
 * vp8enc/opusenc on test sources) driven by a small Python WHIP client. Debian 12's simple-whip-client
 * cannot be used: it aborts at start (libsoup2 in whip-client, libsoup3 via libnice → gupnp-igd); see docs/whip.md.
 */
describe("WHIP from GStreamer webrtcbin", () => {
  let recbot: Recbot;
  let base: string;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-whip-gst-"));

  beforeAll(async () => {
    recbot = await createRecbot({
      host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], authTokens: [TOKEN],
      logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn",
    });
    base = await recbot.listen();
  });
  afterAll(async () => {
    await recbot?.close();
  });

  it("records VP8/Opus test sources published with trickle ICE (PATCH + If-Match), bundle-only offer, DELETE", async () => {
    const seconds = 3;
    const { stdout } = await run("/usr/bin/python3", [PUBLISHER, `${base}/whip`, "--token", TOKEN, "--seconds", String(seconds)], { timeout: 45_000 });
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(result.error).toBeUndefined();
    expect(result.state).toBe("connected");
    expect(result.post.status).toBe(201);
    expect(result.patches.length).toBeGreaterThanOrEqual(2); // candidates, then end-of-candidates
    expect(result.patches.every((s: number) => s === 204)).toBe(true);
    // Only loopback: libnice was told to use 127.0.0.1 and the namespace has nothing else.
    expect(result.candidates.length).toBeGreaterThan(0);
    for (const c of result.candidates) expect(c.split(" ")[4]).toBe("127.0.0.1");
    expect(result.delete.status).toBe(200);

    const [recording] = result.delete.body.recordings;
    expect(recording).toMatchObject({ state: "finished", tracks: [{ kind: "video", codec: "vp8" }, { kind: "audio", codec: "opus" }] });
    const p = await probe(path.join(dir, recording.file));
    const v = stream(p, "video");
    const a = stream(p, "audio");
    expect(v.codec_name).toBe("vp8");
    expect(a.codec_name).toBe("opus");
    expect([v.width, v.height]).toEqual([320, 240]);
    const duration = Number(p.format.duration);
    expect(duration).toBeGreaterThanOrEqual(seconds - 0.2);
    const frames = Number(v.nb_read_frames);
    const audioFrames = Number(a.nb_read_frames);
    // Every frame the encoder produced over the file's last `duration` seconds is in the file (the file ends at the
    // DELETE, like the count). Not 30 fps: GStreamer's live encoder drops frames itself when the suite loads the
    // machine (the full CI run of 2026-12-07 recorded 0.89 × 30 fps).
    const pts: number[] = result.videoPts;
    const sent = pts.filter((t) => t >= pts.at(-1)! - duration).length;
    expect(frames / sent, `${frames} frames in the file, ${sent} encoded`).toBeGreaterThan(0.95);
    expect(frames / (duration * 30)).toBeGreaterThan(0.6);
    expect(audioFrames / (duration / 0.02)).toBeGreaterThan(0.9);
    expect(await decodeErrors(path.join(dir, recording.file))).toBe("");
  });
});
