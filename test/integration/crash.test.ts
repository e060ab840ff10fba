import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { publish, type PublishResult } from "../../src/testkit/publisher.ts";
import { packetSpans } from "../helpers/timeline.ts";

const root = path.resolve(import.meta.dirname, "../..");

interface Server {
  child: ChildProcess;
  wsUrl: string;
  exited: Promise<number | null>;
}

/** `node src/cli/main.ts serve` in its own process group (so a kill can take its ffmpeg children too). */
async function startServer(dir: string): Promise<Server> {
  const child = spawn(process.execPath, ["src/cli/main.ts", "serve", "--host", "127.0.0.1", "--port", "0", "--recordings-dir", dir, "--ice-addresses", "127.0.0.1", "--log-level", "info"], {
    cwd: root, detached: true, stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const wsUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("recbot did not start")), 20_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /"url":"(http:[^"]+)"/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace("http", "ws") + "/ws");
      }
    });
    child.once("exit", () => reject(new Error("recbot exited while starting")));
  });
  return { child, wsUrl, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("crash safety of recbot as a process", () => {
  let clip: Clip;
  let server: Server | undefined;

  beforeAll(async () => {
    // A 10 s GOP, like a browser that sends keyframes only on request: clusters must not wait for keyframes.
    clip = await makeClip({ seconds: 10, gop: 300 });
  });
  afterEach(() => {
    // Never leave a recbot or its ffmpeg behind, whatever happened.
    if (server && server.child.exitCode === null) {
      try {
        process.kill(-server.child.pid!, "SIGKILL");
      } catch {
        // already gone: the exit event just has not been delivered yet
      }
    }
    server = undefined;
  });

  it("SIGKILL of recbot and its ffmpeg mid-recording leaves a file that decodes up to within 2 s of the kill", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-kill-"));
    server = await startServer(dir);
    const abort = new AbortController();
    let sendingSince = NaN;
    const published = publish({ url: server.wsUrl, clip, signal: abort.signal, onConnected: () => (sendingSince = performance.now()) });
    while (Number.isNaN(sendingSince)) await sleep(20);
    await sleep(5000);
    const killedAt = (performance.now() - sendingSince) / 1000;
    process.kill(-server.child.pid!, "SIGKILL"); // the whole group: recbot and ffmpeg die together
    await server.exited;
    abort.abort();
    await published.catch(() => undefined);

    const files = readdirSync(dir).filter((f) => f.endsWith(".webm"));
    expect(files).toHaveLength(1);
    const file = path.join(dir, files[0]);
    const spans = await packetSpans(file);
    const p = await probe(file);
    expect(Math.min(spans.video.end, spans.audio.end)).toBeGreaterThanOrEqual(killedAt - 2);
    expect(Number(stream(p, "video").nb_read_frames)).toBeGreaterThanOrEqual((killedAt - 2) * 30);
  });

  it("SIGTERM with three recordings open finalizes three files that decode cleanly", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-term-"));
    server = await startServer(dir);
    const abort = new AbortController();
    const connected: number[] = [];
    const publishers: Promise<PublishResult | undefined>[] = [0, 1, 2].map(() =>
      publish({ url: server!.wsUrl, clip, signal: abort.signal, onConnected: () => connected.push(performance.now()) }).catch(() => undefined),
    );
    while (connected.length < 3) await sleep(20);
    await sleep(3000);
    server.child.kill("SIGTERM");
    const code = await server.exited;
    abort.abort();
    await Promise.all(publishers);
    expect(code).toBe(0);

    const files = readdirSync(dir).filter((f) => f.endsWith(".webm")).map((f) => path.join(dir, f));
    expect(files).toHaveLength(3);
    const durations: string[] = [];
    for (const file of files) {
      expect(await decodeErrors(file)).toBe("");
      const p = await probe(file);
      const duration = Number(p.format.duration);
      durations.push(duration.toFixed(2));
      expect(duration).toBeGreaterThan(2);
      const meta = JSON.parse(await readFile(file.replace(/\.webm$/, ".json"), "utf8"));
      expect(meta.state).toBe("finished");
    }
  });
});
