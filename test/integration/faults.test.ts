import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createRecbot } from "../../src/index.ts";
import { makeClip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { publish } from "../../src/testkit/publisher.ts";

/** ffmpeg processes started by this test process. */
function ffmpegChildren(): number[] {
  const pids = readdirSync("/proc/self/task").flatMap((t) => readFileSync(`/proc/self/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean));
  return pids.map(Number).filter((pid) => {
    try {
      return path.basename(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]) === "ffmpeg";
    } catch {
      return false;
    }
  });
}

function canMountTmpfs(): string | undefined {
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-tmpfs-probe-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { stdio: "ignore" });
    execFileSync("umount", [dir]);
    return undefined;
  } catch {
    return "mounting a tmpfs needs root";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const noTmpfs = canMountTmpfs();

describe("faults", () => {
  it("ffmpeg killed mid-recording: a new segment continues the stream, the gap is in the metadata", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-kill-"));
    const recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: "silent" });
    try {
      const ws = (await recbot.listen()).replace("http", "ws") + "/ws";
      const clip = await makeClip({ seconds: 6, gop: 30 });
      let killed = 0;
      let timer: NodeJS.Timeout | undefined;
      // Killed 1 s after its file holds the first keyframe: mid-recording whenever the recording starts (the
      // stream's sync hold and a loaded machine move that start; a fixed time could kill ffmpeg before its file exists).
      const kill = () => {
        for (const pid of ffmpegChildren()) {
          process.kill(pid, "SIGKILL");
          killed++;
        }
      };
      const result = await publish({ url: ws, clip, recordingsDir: dir, onKeyframeOnDisk: () => (timer = setTimeout(kill, 1000)) });
      clearTimeout(timer);
      expect(killed).toBe(1);
      expect(result.finished.state).toBe("finished");
      const meta = JSON.parse(readFileSync(path.join(dir, `${result.finished.recordingId}.json`), "utf8"));
      expect(meta.state).toBe("finished");
      expect(meta.segments).toHaveLength(2);
      expect(meta.gaps).toHaveLength(1);
      expect(meta.gaps[0].reason).toMatch(/SIGKILL/);
      expect(meta.gaps[0].toMs).toBeGreaterThan(meta.gaps[0].fromMs);
      let frames = 0;
      for (const segment of meta.segments) {
        expect(await decodeErrors(segment.file)).toBe("");
        frames += Number(stream(await probe(segment.file), "video").nb_read_frames);
      }
      expect(frames).toBeGreaterThan(result.framesSent.video * 0.6);
    } finally {
      await recbot.close();
    }
  });

  it("ffmpeg killed before it creates its file: the sidecar lists only files that exist, the gap starts at 0", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-kill-early-"));
    const recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: "silent" });
    try {
      const ws = (await recbot.listen()).replace("http", "ws") + "/ws";
      const clip = await makeClip({ seconds: 5, gop: 30 });
      // The first ffmpeg is killed the moment it appears (it opens its output only after probing its input).
      let fileExistedAtKill: boolean | undefined;
      const watch = setInterval(() => {
        for (const pid of ffmpegChildren()) {
          const output = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).at(-1)!;
          fileExistedAtKill = existsSync(output);
          process.kill(pid, "SIGKILL");
          clearInterval(watch);
        }
      }, 1);
      const result = await publish({ url: ws, clip });
      clearInterval(watch);
      expect(fileExistedAtKill).toBeDefined();
      expect(result.finished.state).toBe("finished");
      const meta = JSON.parse(readFileSync(path.join(dir, `${result.finished.recordingId}.json`), "utf8"));
      for (const segment of meta.segments) expect(existsSync(segment.file), segment.file).toBe(true);
      expect(meta.gaps).toHaveLength(1);
      expect(meta.gaps[0].reason).toMatch(/SIGKILL/);
      if (!fileExistedAtKill) {
        // The case this test is for (ffmpeg needs tens of ms before it opens its output; a 1 ms watch wins).
        expect(meta.segments).toHaveLength(1);
        expect(meta.gaps[0].fromMs).toBe(0);
        expect(meta.segments[0].startMs).toBe(meta.gaps[0].toMs);
      } else {
        expect(meta.segments).toHaveLength(2);
      }
      for (const segment of meta.segments) expect(await decodeErrors(segment.file)).toBe("");
    } finally {
      await recbot.close();
    }
  });

  it.skipIf(noTmpfs !== undefined)(`disk full: the session is told 'failed' with the reason, nothing crashes, the next session records (${noTmpfs ?? "tmpfs available"})`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=200k", "tmpfs", dir]);
    const recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: "silent" });
    try {
      const base = await recbot.listen();
      const ws = base.replace("http", "ws") + "/ws";
      const full = await publish({ url: ws, clip: await makeClip({ seconds: 4, videoBitrate: "800k" }) });
      expect(full.finished.state).toBe("failed");
      expect(full.finished.error).toMatch(/No space left/);
      expect(full.client.closeCode).toBe(4001);
      expect(full.client.messages).toContainEqual(expect.objectContaining({ type: "error", code: "recording_failed" }));
      expect(((await (await fetch(`${base}/healthz`)).json()) as { sessions: number }).sessions).toBe(0);
      // The full disk may refuse the sidecar update; the API still tells the truth.
      const meta = (await (await fetch(`${base}/recordings/${full.finished.recordingId}`)).json()) as { state: string; error: string };
      expect(meta.state).toBe("failed");
      expect(meta.error).toMatch(/No space left/);

      // Free the space: the same server records the next session normally.
      for (const f of readdirSync(dir)) if (f.endsWith(".webm")) rmSync(path.join(dir, f));
      const ok = await publish({ url: ws, clip: await makeClip({ seconds: 1, videoBitrate: "300k" }) });
      expect(ok.finished.state).toBe("finished");
      expect(await decodeErrors(path.join(dir, ok.finished.file))).toBe("");
    } finally {
      await recbot.close();
      execFileSync("umount", ["-l", dir]);
    }
  });
});
