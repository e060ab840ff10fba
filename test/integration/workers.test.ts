import { mkdtempSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import dc from "node:diagnostics_channel";
import path from "node:path";
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Recbot } from "../../src/index.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe } from "../../src/testkit/probe.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { verifyRecording } from "../helpers/verifyRecording.ts";
import { startTestServer, TEST_LOG } from "../helpers/testServer.ts";

/** Worker threads started in this process and how many of them are still running (Node's built-in channel). */
const threads = { started: 0, running: 0 };
const onWorker = ({ worker }: { worker: Worker }) => {
  threads.started++;
  threads.running++;
  worker.once("exit", () => threads.running--);
};

describe("workers: 2 — sessions run in worker threads, signaling on the main thread", () => {
  let recbot: Recbot;
  let baseUrl: string;
  let clip: Clip;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-workers-"));

  beforeAll(async () => {
    clip = await makeClip({ seconds: 4 });
    dc.subscribe("worker_threads", onWorker as (message: unknown) => void);
    ({ recbot, base: baseUrl } = await startTestServer("workers", {
      recordingsDir: dir, workers: 2, udpPortRange: [41000, 41999], logLevel: TEST_LOG,
    }));
  });
  afterAll(async () => {
    await recbot?.close();
    dc.unsubscribe("worker_threads", onWorker as (message: unknown) => void);
  });

  it("records two publishers at once, one per worker, and stops the workers on close", async () => {
    expect(threads).toEqual({ started: 2, running: 2 });
    const url = baseUrl.replace("http", "ws") + "/ws";
    const results = await Promise.all([publish({ url, clip }), publish({ url, clip })]);

    for (const result of results) {
      const check = await verifyRecording(result, { dir });
      // The sidecar went through the main thread's store: the recordings API lists it as finished.
      const listed = await (await fetch(`${baseUrl}/recordings?sessionId=${result.sessionId}`)).json();
      expect(listed.items).toMatchObject([{ sessionId: result.sessionId, state: "finished", file: path.basename(check.file) }]);
      // The ICE ports came from the worker's slice of udpPortRange.
      const port = Number(result.pair?.remote.port);
      expect(port).toBeGreaterThanOrEqual(41000);
      expect(port).toBeLessThanOrEqual(41999);
    }

    // Each worker has its own half of the range (41000-41499, 41500-41999): one session in each.
    const halves = results.map((r) => (Number(r.pair?.remote.port) < 41500 ? 0 : 1)).sort();
    expect(halves).toEqual([0, 1]);

    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^recbot_worker_sessions_total\{worker="0"\} 1$/m);
    expect(metrics).toMatch(/^recbot_worker_sessions_total\{worker="1"\} 1$/m);
    // Counters pushed from the workers reached the main thread's /metrics.
    const framesWritten = Number(/^recbot_frames_written_total (\d+)/m.exec(metrics)?.[1]);
    expect(framesWritten).toBeGreaterThan(0);

    await recbot.close();
    expect(threads).toEqual({ started: 2, running: 0 });
  });

  it("on server close mid-recording, finalizes the sessions in the workers, then stops the workers", async () => {
    const startedBefore = threads.started;
    const { recbot: server, ws: url, dir: closeDir } = await startTestServer("workers-close", { workers: 2, logLevel: TEST_LOG });
    const abort = new AbortController();
    let sending!: () => void;
    const sendingStarted = new Promise<void>((resolve) => (sending = resolve));
    const published = publish({ url, clip, signal: abort.signal, onSending: () => sending() }).catch((err: Error) => err);
    try {
      await sendingStarted;
      await new Promise((r) => setTimeout(r, 2000));
      await server.close();
    } finally {
      abort.abort();
      await published;
    }
    expect(threads.started - startedBefore).toBe(2);
    expect(threads.running).toBe(0);

    const sidecars = (await readdir(closeDir)).filter((f) => f.endsWith(".json"));
    expect(sidecars).toHaveLength(1);
    const meta = JSON.parse(await readFile(path.join(closeDir, sidecars[0]), "utf8"));
    expect(meta.state).toBe("finished");
    const duration = Number((await probe(meta.file)).format.duration);
    expect(duration).toBeGreaterThan(1.5);
    expect(await decodeErrors(meta.file)).toBe("");
  });
});
