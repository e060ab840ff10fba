import dc from "node:diagnostics_channel";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Recbot } from "../../src/index.ts";
import { selectedPair } from "../../src/session/selectedPair.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe } from "../../src/testkit/probe.ts";
import { publish, type PublishResult } from "../../src/testkit/publisher.ts";
import { verifyRecording } from "../helpers/verifyRecording.ts";
import { startTestServer } from "../helpers/testServer.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Processes (ffmpeg) whose command line names `file`. */
function processesWriting(file: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(file)) pids.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function until<T>(what: string, get: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe("workers: 2 — a session worker dies mid-recording", () => {
  let recbot: Recbot;
  let baseUrl: string;
  let clip: Clip;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-worker-crash-"));
  const workers: Worker[] = [];
  const onWorker = ({ worker }: { worker: Worker }) => void workers.push(worker);

  beforeAll(async () => {
    clip = await makeClip({ seconds: 7 });
    dc.subscribe("worker_threads", onWorker as (message: unknown) => void);
    ({ recbot, base: baseUrl } = await startTestServer("worker-crash", {
      recordingsDir: dir, workers: 2, udpPortRange: [42000, 42999], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "silent",
    }));
  });
  afterAll(async () => {
    await recbot?.close();
    dc.unsubscribe("worker_threads", onWorker as (message: unknown) => void);
  });

  it("tells its clients (error + close with a code), keeps its files playable and marked interrupted, and the other worker's session is unharmed", async () => {
    expect(workers).toHaveLength(2);
    const url = baseUrl.replace("http", "ws") + "/ws";
    // Worker 0 has ports 42000-42499, worker 1 42500-42999: the publisher's selected pair says where its session runs.
    const onWorker0: boolean[] = [];
    const aborts = [new AbortController(), new AbortController()];
    const onDisk: Promise<void>[] = [];
    const runs = aborts.map((abort, i) => {
      let written!: () => void;
      onDisk.push(new Promise<void>((resolve) => (written = resolve)));
      return publish({
        url, clip, signal: abort.signal, recordingsDir: dir, onKeyframeOnDisk: written,
        onConnected: (pc) => (onWorker0[i] = Number(selectedPair(pc)?.remote.port) < 42500),
      });
    });
    // Both files exist and hold their first keyframe (when depends on the streams' sync hold and the load),
    // then the worker dies with 2.5 s more on disk.
    await Promise.all(onDisk);
    expect(onWorker0.filter(Boolean)).toHaveLength(1); // one session per worker
    const victim = onWorker0.indexOf(true);
    await sleep(2500);
    await workers[0].terminate();

    // The killed session's sidecar says interrupted (written by the main thread)...
    const listed = await until("an interrupted recording", async () => {
      const body = await (await fetch(`${baseUrl}/recordings?state=interrupted`)).json();
      return body.items.length ? body.items : undefined;
    });
    expect(listed).toHaveLength(1);
    aborts[victim].abort();
    const [killed, survivor] = victim === 0 ? [await runs[0], await runs[1]] : [await runs[1], await runs[0]];

    // ...its client got the recording's failure and the session's end, with a code and a message, then the socket closed.
    const messages = (killed as PublishResult).client.messages;
    expect(messages).toContainEqual(expect.objectContaining({ type: "recording", state: "failed", error: expect.stringMatching(/worker exited/) }));
    expect(messages).toContainEqual({ type: "error", code: "worker_failed", message: "session closed: worker_failed" });
    expect(killed.client.closeCode).toBe(4001);
    expect(killed.client.closeReason).toBe("worker_failed");

    // Its ffmpeg lost its input with the thread, finalized what it had, and exited.
    const meta = JSON.parse(await readFile(path.join(dir, `${listed[0].id}.json`), "utf8"));
    expect(meta).toMatchObject({ sessionId: killed.sessionId, state: "interrupted", error: expect.stringMatching(/worker exited/) });
    await until("ffmpeg of the killed session to exit", () => (processesWriting(meta.file).length === 0 ? true : undefined), 10_000);
    const duration = Number((await probe(meta.file)).format.duration);
    expect(duration).toBeGreaterThan(1.5);
    expect(await decodeErrors(meta.file)).toBe("");

    // The other worker's session recorded the whole clip.
    const check = await verifyRecording(survivor, { dir });
    expect(check.videoFramesRecorded).toBe(check.videoFramesSent);

    // A new worker took the dead one's place: new sessions record as before.
    const after = await Promise.all([publish({ url, clip, seconds: 2 }), publish({ url, clip, seconds: 2 })]);
    for (const result of after) expect((await verifyRecording(result, { dir })).durationSeconds).toBeGreaterThan(1.5);
    expect(workers).toHaveLength(3);
  });
});
