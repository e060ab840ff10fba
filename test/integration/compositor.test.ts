import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { Compositor } from "../../src/calls/composite/compositor.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";

const run = promisify(execFile);

/** The compositor on files made by ffmpeg (no peers): the WebM option, progress, and a failure's reason. */
describe("compositor", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-compositor-"));
  const compositor = new Compositor({ log: pino({ level: "silent" }) as never, width: 640, height: 360, fps: 30, niceness: 10, threads: 1 });
  let a: string;

  beforeAll(async () => {
    a = path.join(dir, "a.webm");
    await run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-f", "lavfi", "-i", "sine=f=440:r=48000",
      "-t", "3", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus", a]);
  });

  it("writes VP9 + Opus WebM when asked, reporting progress up to 100", async () => {
    const progress: number[] = [];
    const output = path.join(dir, "out.webm");
    const result = await compositor.run({
      key: "t", format: "webm", output, startMs: 0, endMs: 4000, onProgress: (p) => progress.push(p),
      participants: [
        { id: "a", name: "A", joinedMs: 0, media: [{ file: a, originMs: 1000, hasVideo: true, hasAudio: true }] },
        { id: "b", name: "B (never published)", joinedMs: 0, media: [] },
      ],
    });
    const p = await probe(output);
    expect(p.format.format_name).toContain("webm");
    expect(stream(p, "video").codec_name).toBe("vp9");
    expect(stream(p, "audio").codec_name).toBe("opus");
    expect(Math.abs(Number(p.format.duration) - 4)).toBeLessThan(0.1);
    expect(await decodeErrors(output)).toBe("");
    expect(progress.at(-1)).toBe(100);
    expect(result.cpuSeconds).toBeGreaterThan(0);
  });

  it("a file ffmpeg cannot read fails the job with ffmpeg's reason, and the next job still runs", async () => {
    const broken = path.join(dir, "broken.webm");
    writeFileSync(broken, "not a webm file");
    const failed = compositor.run({
      key: "bad", format: "mp4", output: path.join(dir, "bad.mp4"), startMs: 0, endMs: 2000,
      participants: [{ id: "a", name: "A", joinedMs: 0, media: [{ file: broken, originMs: 0, hasVideo: true, hasAudio: true }] }],
    });
    const next = compositor.run({
      key: "ok", format: "mp4", output: path.join(dir, "ok.mp4"), startMs: 0, endMs: 2000,
      participants: [{ id: "a", name: "A", joinedMs: 0, media: [{ file: a, originMs: 0, hasVideo: true, hasAudio: true }] }],
    });
    await expect(failed).rejects.toMatchObject({ code: "ffmpeg_failed", message: expect.stringMatching(/broken\.webm|Invalid data/) });
    await next;
    expect(stream(await probe(path.join(dir, "ok.mp4")), "video").codec_name).toBe("h264");
  });
});
