/**
 * The deployment, run for real: docker-compose.yml's two images built from debian:bookworm-slim, started with a test
 * env file, and recorded through. Run by `npm run test:deploy` (scripts/deploy-test.sh makes sure an engine and the
 * base image are there), not by `npm test`. All traffic stays on this machine: the compose network is internal
 * (test/deploy/compose.test.yml), ports are published on 127.0.0.1 only, and the publisher is a container on that
 * network (test/deploy/publisher.ts in the recbot image).
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeArgs } from "../../src/testkit/probe.ts";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const project = "recbot-deploytest";
const volume = `${project}_recordings`;
const network = `${project}_recbot-net`;
const FPS = 30; // publisher.ts sends 30 fps
const tmp = mkdtempSync(path.join(tmpdir(), "recbot-deploy-"));
const envFile = path.join(tmp, "test.env");

const composeArgs = (...args: string[]) => ["-p", project, "--env-file", envFile, "-f", "docker-compose.yml", "-f", "test/deploy/compose.test.yml", ...args];
const compose = (...args: string[]) => run("docker-compose", composeArgs(...args), { cwd: root, maxBuffer: 64 << 20 });
const docker = (...args: string[]) => run("docker", args, { maxBuffer: 64 << 20 });

const timings: Array<[string, number]> = [];
/** Runs one stage and prints how long it took. */
async function stage<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const seconds = (performance.now() - t0) / 1000;
    timings.push([name, seconds]);
    process.stderr.write(`deploy: ${name}: ${seconds.toFixed(1)} s\n`);
  }
}

/** `docker-compose config` of the base file alone, as JSON (PyYAML comes with docker-compose). */
async function baseConfig(env: Record<string, string>): Promise<any> {
  const { stdout: yaml } = await run("docker-compose", ["-f", "docker-compose.yml", "config"], { cwd: root, env: { PATH: process.env.PATH, ...env } });
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    const child = execFile("python3", ["-c", "import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], (err, out) => (err ? reject(err) : resolve({ stdout: out })));
    child.stdin!.end(yaml);
  });
  return JSON.parse(stdout);
}

async function containerOf(service: string): Promise<string> {
  const { stdout } = await compose("ps", "-q", service);
  return stdout.trim();
}
async function inspect(id: string): Promise<any> {
  return JSON.parse((await docker("inspect", id)).stdout)[0];
}

type Event = { event: string; [key: string]: any } & Partial<{ videoFrames: number; audioFrames: number }>;
/** Starts the publisher container; `events` fills as it prints, `exited` resolves with its exit code. */
function startPublisher(recbotUrl: string, via: "relay" | "direct", seconds: number) {
  const child = spawn("docker-compose", composeArgs("run", "--rm", "-T", "publisher", "--recbot", recbotUrl, "--via", via, "--seconds", String(seconds)), { cwd: root });
  const events: Event[] = [];
  const listeners: Array<() => void> = [];
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    events.push(JSON.parse(line));
    listeners.splice(0).forEach((l) => l());
  });
  const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
  const waitFor = async (name: string, timeoutMs = 30_000): Promise<Event> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events.find((e) => e.event === name);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`publisher: no "${name}" event; events ${JSON.stringify(events)}; stderr ${stderr}`);
      await Promise.race([new Promise<void>((r) => listeners.push(r)), new Promise((r) => setTimeout(r, 250)), exited]);
    }
  };
  return { events, exited, waitFor, stderr: () => stderr };
}

async function publish(recbotUrl: string, via: "relay" | "direct", seconds: number) {
  const p = startPublisher(recbotUrl, via, seconds);
  const code = await p.exited;
  expect(code, `publisher exited with ${code}: ${p.stderr()}`).toBe(0);
  return { events: p.events, event: (name: string) => p.events.find((e) => e.event === name)! };
}

/** ffprobe, a full decode and the sidecar of a file in the recordings volume, read by a container of the recbot image. */
async function examine(file: string) {
  const name = path.posix.basename(file);
  const inVolume = (script: string) => docker("run", "--rm", "--network", "none", "-v", `${volume}:/rec:ro`, "recbot:latest", "sh", "-c", script);
  const probe = JSON.parse((await inVolume(`ffprobe -v error -count_frames -show_entries format=format_name,duration:stream=codec_type,codec_name,width,height,nb_read_frames -of json /rec/${name}`)).stdout);
  // The test kit's decode check: frames keep the file's own timestamps, so a repeated or backwards one still shows,
  // ffmpeg's re-timing into a guessed frame rate does not (a CI run failed on that, its frame counts right).
  const decode = await inVolume(`ffmpeg ${decodeArgs(`/rec/${name}`).join(" ")} 2>&1`);
  const sidecar = JSON.parse((await inVolume(`cat /rec/${name.replace(/\.\w+$/, ".json")}`)).stdout);
  const stream = (type: string) => probe.streams.find((s: any) => s.codec_type === type);
  return { probe, video: stream("video"), audio: stream("audio"), duration: Number(probe.format.duration), decodeErrors: decode.stdout.trim(), sidecar };
}

/** A finished WebM with VP8 320x240 + Opus, every frame that was sent, the duration those frames span, a clean decode. */
async function expectRecording(file: string, sent: Partial<{ videoFrames: number; audioFrames: number }>, minShare = 0.98) {
  const r = await examine(file);
  const videoSent = sent.videoFrames ?? NaN;
  const audioSent = sent.audioFrames ?? NaN;
  expect(r.probe.format.format_name).toContain("webm");
  expect(r.video).toMatchObject({ codec_name: "vp8", width: 320, height: 240 });
  expect(r.audio).toMatchObject({ codec_name: "opus" });
  const videoFrames = Number(r.video.nb_read_frames);
  expect(videoFrames / videoSent).toBeGreaterThanOrEqual(minShare);
  expect(videoFrames).toBeLessThanOrEqual(videoSent);
  const expected = videoFrames / FPS;
  const tolerance = Math.max(0.05 * expected, 0.25);
  expect(Math.abs(r.duration - expected)).toBeLessThan(tolerance);
  // Opus packets are 20 ms. Audio sent before video's first keyframe reached recbot is not in the file (a loaded
  // machine delays the encoder's first frame), so the audio must span the file rather than match the count sent.
  const audioFrames = Number(r.audio.nb_read_frames);
  expect(Math.abs(audioFrames * 0.02 - r.duration), `audio frames ${audioFrames} of ${audioSent}; ${JSON.stringify(r.sidecar.trackStats)}`).toBeLessThan(tolerance);
  expect(audioFrames).toBeLessThanOrEqual(audioSent + Math.ceil(tolerance / 0.02));
  expect(r.decodeErrors).toBe("");
  expect(r.sidecar.state).toBe("finished");
  process.stderr.write(`deploy: ${path.posix.basename(file)}: ${r.duration.toFixed(2)} s, ${videoFrames}/${videoSent} video frames, ${r.audio.nb_read_frames} audio frames\n`);
  return r;
}

describe("docker-compose up: recbot + coturn, built from debian:bookworm-slim", () => {
  let base: any;
  let recbotUrl = "";
  let coturnIp = "";

  beforeAll(async () => {
    base = await baseConfig({ TURN_SECRET: "x", PUBLIC_IP: "203.0.113.10", PUBLIC_HOST: "x" });
    const recbotIp = base.services.recbot.networks["recbot-net"].ipv4_address;
    coturnIp = base.services.coturn.networks["recbot-net"].ipv4_address;
    recbotUrl = `http://${recbotIp}:${base.services.recbot.environment.RECBOT_PORT}`;
    // PUBLIC_IP is a documentation address (TEST-NET-3): nothing on the internal network routes to it.
    // Clients on the compose network reach coturn at its address there, so that is their PUBLIC_HOST.
    writeFileSync(envFile, `TURN_SECRET=${randomBytes(24).toString("hex")}\nPUBLIC_IP=203.0.113.10\nPUBLIC_HOST=${coturnIp}\nBIND_IP=127.0.0.1\n`);
    await compose("down", "-v", "--remove-orphans"); // leftovers of an interrupted run
    await stage("docker-compose up -d --build", () => compose("up", "-d", "--build"));
    await stage("both services healthy", async () => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const states = await Promise.all(["recbot", "coturn"].map(async (s) => (await inspect(await containerOf(s))).State));
        if (states.every((s) => s.Health?.Status === "healthy")) return;
        if (states.some((s) => !s.Running || s.Health?.Status === "unhealthy") || Date.now() > deadline) {
          const { stdout } = await compose("logs", "--tail", "30");
          throw new Error(`stack not healthy: ${JSON.stringify(states.map((s) => [s.Status, s.Health?.Status]))}\n${stdout}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    });
    // "healthy" waits for the first healthcheck (its interval); how soon recbot itself listened:
    const startedAt = Date.parse((await inspect(await containerOf("recbot"))).State.StartedAt);
    const { stdout: logs } = await compose("logs", "--no-color", "recbot");
    const listening = /"time":(\d+)[^\n]*"msg":"recbot listening"/.exec(logs);
    if (listening) process.stderr.write(`deploy: recbot listening ${((Number(listening[1]) - startedAt) / 1000).toFixed(1)} s after its container started\n`);
  });

  afterAll(async () => {
    await compose("down", "-v", "--remove-orphans").catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
    process.stderr.write(`deploy: stages:\n${timings.map(([n, s]) => `  ${n}: ${s.toFixed(1)} s`).join("\n")}\n`);
  });

  it("runs recbot on Node 26 (the npm 'node' dependency) and coturn as unprivileged users", async () => {
    const pinned = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).dependencies.node as string;
    const major = Number(/^\^?(\d+)\./.exec(pinned)![1]);
    expect(major).toBe(26); // the Node line the README promises
    const { stdout: version } = await compose("exec", "-T", "recbot", "node", "-p", "process.versions.node");
    expect(Number(version.trim().split(".")[0])).toBe(major);
    expect((await compose("exec", "-T", "recbot", "id", "-u")).stdout.trim()).not.toBe("0");
    expect((await compose("exec", "-T", "coturn", "id", "-un")).stdout.trim()).toBe("turnserver");
    const { stdout: ffmpeg } = await compose("exec", "-T", "recbot", "ffmpeg", "-hide_banner", "-encoders");
    expect(ffmpeg).toMatch(/libvpx/);
    // The recorders' lean ffmpeg (docs/recorder-ffmpeg.md) is in the image and runs there (its libdav1d comes from Debian).
    const { stdout: lean } = await compose("exec", "-T", "recbot", "/app/.ffmpeg/bin/ffmpeg", "-hide_banner", "-muxers");
    expect(lean).toMatch(/\bwebm\b/);
    const { stdout: logs } = await compose("logs", "--no-color", "recbot");
    expect(logs).toContain('"recorderFfmpegKind":"lean"');
  });

  it("keeps the stack on this machine: an internal network, ports published on 127.0.0.1 only", async () => {
    const net = JSON.parse((await docker("network", "inspect", network)).stdout)[0];
    expect(net.Internal).toBe(true);
    for (const service of ["recbot", "coturn"]) {
      const bindings = Object.values((await inspect(await containerOf(service))).HostConfig.PortBindings ?? {}).flat() as any[];
      expect(bindings.length).toBeGreaterThan(0);
      expect(bindings.every((b) => b.HostIp === "127.0.0.1"), service).toBe(true);
    }
  });

  it("records a publisher that relays through coturn (iceTransportPolicy relay, credentials from GET /ice-servers)", async () => {
    const p = await stage("relay recording (4 s)", () => publish(recbotUrl, "relay", 4));
    expect(p.event("ice-servers")).toMatchObject({ withCredentials: true });
    expect(p.event("ice-servers").urls).toContain(`turn:${coturnIp}:3478?transport=udp`);
    expect(p.event("connected").local.type).toBe("relay");
    const done = p.event("done");
    expect(done.state).toBe("finished");
    await expectRecording(done.file, done);
  });

  it("records a publisher connected directly (host to host)", async () => {
    const p = await stage("direct recording (3 s)", () => publish(recbotUrl, "direct", 3));
    expect(p.event("connected")).toMatchObject({ local: { type: "host" }, remote: { type: "host", address: new URL(recbotUrl).hostname } });
    const done = p.event("done");
    expect(done.state).toBe("finished");
    await expectRecording(done.file, done);
  });

  it("finalizes the recording in progress on docker-compose stop (SIGTERM)", async () => {
    const p = startPublisher(recbotUrl, "direct", 60);
    const started = await p.waitFor("recording");
    expect(started.state).toBe("started");
    await new Promise((r) => setTimeout(r, 3000));
    await stage("docker-compose stop", () => compose("stop"));
    expect(await p.exited).toBe(0);
    const closed = await p.waitFor("closed", 1000);
    const recbot = await inspect(await containerOf("recbot"));
    expect(recbot.State.ExitCode).toBe(0);
    const { stdout: logs } = await compose("logs", "--no-color", "recbot");
    expect(logs).toContain('"signal":"SIGTERM"');
    // Frames in flight when recbot stopped listening are lost; what reached it is in a finalized file.
    await expectRecording(started.file, closed, 0.9);
  });

  it("docker-compose down -v removes the containers, network and volume it made", async () => {
    await stage("docker-compose down -v", () => compose("down", "-v", "--remove-orphans"));
    const label = `label=com.docker.compose.project=${project}`;
    expect((await docker("ps", "-a", "-q", "--filter", label)).stdout.trim()).toBe("");
    expect((await docker("network", "ls", "-q", "--filter", label)).stdout.trim()).toBe("");
    expect((await docker("volume", "ls", "-q", "--filter", label)).stdout.trim()).toBe("");
  });
});
