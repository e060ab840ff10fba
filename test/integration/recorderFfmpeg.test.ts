import { execFileSync } from "node:child_process";
import { readlinkSync } from "node:fs";
import ffmpeg from "fluent-ffmpeg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { LEAN_FFMPEG, recorderFfmpeg } from "../../src/sinks/ffmpegRecorder/binary.ts";
import { serverGroup } from "../helpers/testServer.ts";
import { verifyRecording } from "../helpers/verifyRecording.ts";

/** The executables of this process's ffmpeg children (recbot runs in-process here: its recorders are our children). */
function ffmpegChildren(): string[] {
  let out = "";
  try {
    out = execFileSync("ps", ["--ppid", String(process.pid), "-o", "pid=,comm="], { encoding: "utf8" });
  } catch {
    return []; // ps exits 1 when there is no child
  }
  return out.split("\n").map((l) => l.trim().split(/\s+/)).filter(([, comm]) => comm === "ffmpeg").map(([pid]) => {
    try {
      return readlinkSync(`/proc/${pid}/exe`);
    } catch {
      return "";
    }
  }).filter(Boolean);
}

async function recordAndWatch(ws: string, clip: Clip) {
  const seen = new Set<string>();
  const timer = setInterval(() => ffmpegChildren().forEach((e) => seen.add(e)), 100);
  try {
    return { result: await publish({ url: ws, clip }), executables: [...seen] };
  } finally {
    clearInterval(timer);
  }
}

describe("the recorder's ffmpeg (ffmpegPath)", () => {
  const servers = serverGroup("recorder-ffmpeg");
  let clip: Clip;
  const systemFfmpeg = execFileSync("sh", ["-c", "readlink -f \"$(command -v ffmpeg)\""], { encoding: "utf8" }).trim();
  beforeAll(async () => {
    clip = await makeClip({ seconds: 3 });
  });
  afterAll(() => servers.close());

  it("auto runs the lean build when it is built (CI builds it), and it records every frame", async () => {
    const chosen = recorderFfmpeg("auto");
    // .ci/run builds the lean ffmpeg before the tests and says so: there, auto must pick it.
    if (process.env.RECBOT_EXPECT_LEAN_FFMPEG === "1") expect(chosen).toEqual({ path: LEAN_FFMPEG, kind: "lean" });
    const { ws, dir } = await servers.start();
    const { result, executables } = await recordAndWatch(ws, clip);
    expect(executables).toEqual([chosen.kind === "lean" ? LEAN_FFMPEG : systemFfmpeg]);
    // fluent-ffmpeg's process-wide binary stays the system one: the call composite (same process) needs its encoders.
    const processWide = await new Promise<string>((resolve) =>
      (ffmpeg() as unknown as { _getFfmpegPath(cb: (e: unknown, p: string) => void): void })._getFfmpegPath((_e, p) => resolve(p)));
    expect(processWide).not.toBe(LEAN_FFMPEG);
    const check = await verifyRecording(result, { dir, minFrameRatio: 1 });
    expect(check.videoFramesRecorded).toBe(result.framesSent.video);
    expect(check.audioFramesRecorded).toBe(result.framesSent.audio);
  });

  it("a configured ffmpegPath (the system ffmpeg) is the one that runs, and it records every frame", async () => {
    const { ws, dir } = await servers.start({ ffmpegPath: "ffmpeg" });
    const { result, executables } = await recordAndWatch(ws, clip);
    expect(executables).toEqual([systemFfmpeg]);
    const check = await verifyRecording(result, { dir, minFrameRatio: 1 });
    expect(check.videoFramesRecorded).toBe(result.framesSent.video);
    expect(check.audioFramesRecorded).toBe(result.framesSent.audio);
  });

  it("a path that does not exist fails the recording with a clear error instead of crashing", async () => {
    const { ws, base } = await servers.start({ ffmpegPath: "/nonexistent/ffmpeg" });
    const result = await publish({ url: ws, clip });
    const failed = result.client.messages.find((m) => m.type === "recording" && m.state === "failed");
    expect(failed).toMatchObject({ type: "recording", state: "failed" });
    expect(String((failed as { error?: unknown }).error)).toContain("ffmpeg not found or not executable: /nonexistent/ffmpeg");
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
