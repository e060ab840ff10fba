import dc from "node:diagnostics_channel";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Recbot } from "../../src/index.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { startTestServer } from "../helpers/testServer.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** ffmpeg processes started by this process (worker threads are tasks of it too) whose command line names `dir`. */
function ffmpegWriting(dir: string): number[] {
  const pids = readdirSync("/proc/self/task").flatMap((t) => {
    try {
      return readFileSync(`/proc/self/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    } catch {
      return [];
    }
  });
  return pids.map(Number).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return path.basename(argv[0]) === "ffmpeg" && argv.some((a) => a.startsWith(dir));
    } catch {
      return false;
    }
  });
}

describe("workers: 2 — a session worker dies before its recording's first file exists", () => {
  let recbot: Recbot;
  let baseUrl: string;
  let clip: Clip;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-worker-hold-"));
  const workers: Worker[] = [];
  const onWorker = ({ worker }: { worker: Worker }) => void workers.push(worker);
  const stopped: number[] = [];

  beforeAll(async () => {
    clip = await makeClip({ seconds: 6 });
    dc.subscribe("worker_threads", onWorker as (message: unknown) => void);
    ({ recbot, base: baseUrl } = await startTestServer("worker-hold", {
      recordingsDir: dir, workers: 2, udpPortRange: [43000, 43999], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "silent",
      // Debian's ffmpeg: it takes ~60 ms to start (docs/recorder-ffmpeg.md), the window in which this test freezes it
      // before it opens its output. The lean build opens it ~1 ms after exec, before a 1-ms poll can see the process.
      ffmpegPath: "ffmpeg",
    }));
  });
  afterAll(async () => {
    for (const pid of stopped) {
      try { process.kill(pid, "SIGKILL"); } catch {}
    }
    await recbot?.close();
    dc.unsubscribe("worker_threads", onWorker as (message: unknown) => void);
  });

  it("the sidecar never names a media file that was not created", async () => {
    const url = baseUrl.replace("http", "ws") + "/ws";
    const abort = new AbortController();
    const run = publish({ url, clip, signal: abort.signal }).catch((err: Error) => err);

    // The moment the sync hold releases the first frames, the recorder lists its segment and starts ffmpeg, which
    // creates the file only after probing its input. Freeze ffmpeg as soon as it exists (before it opens its
    // output), then kill the session's thread: the state of a worker dying in that window, made certain.
    let ffmpeg: number[] = [];
    const end = Date.now() + 20_000;
    while ((ffmpeg = ffmpegWriting(dir)).length === 0) {
      if (Date.now() > end) throw new Error("no ffmpeg started");
      await sleep(1);
    }
    for (const pid of ffmpeg) {
      process.kill(pid, "SIGSTOP");
      stopped.push(pid);
    }
    const media = () => readdirSync(dir).filter((n) => /\.(webm|mkv)$/.test(n));
    // The recorder wrote its "recording" sidecar (listing the segment) when it started ffmpeg.
    for (let i = 0; i < 100 && !readdirSync(dir).some((n) => n.endsWith(".json")); i++) await sleep(20);
    expect(readdirSync(dir).filter((n) => n.endsWith(".json")), "the recorder's sidecar").toHaveLength(1);
    expect(media(), "ffmpeg was frozen before it created its output").toEqual([]);
    for (const w of workers.slice(0, 2)) await w.terminate(); // the originals (replacements join the list)

    // The main thread handles the death (sidecars, the client's "failed" message), then the session ends.
    abort.abort();
    void run;
    await sleep(1500);
    const sidecars: { id: string; state: string; file: string; segments?: { file: string }[] }[] = readdirSync(dir).filter((n) => n.endsWith(".json")).map((n) => JSON.parse(readFileSync(path.join(dir, n), "utf8")));
    for (const meta of sidecars) {
      for (const file of [meta.file, ...(meta.segments ?? []).map((s) => s.file)]) {
        expect(existsSync(file), `${meta.id} (${meta.state}) names ${file}`).toBe(true);
      }
    }
    const listed = (await (await fetch(`${baseUrl}/recordings`)).json()).items as { file: string }[];
    for (const item of listed) expect(existsSync(path.join(dir, item.file)) || existsSync(item.file), item.file).toBe(true);
  });
});
