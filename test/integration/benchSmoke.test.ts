import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);

/**
 * The benchmark harness end to end at its smallest (N=1, 3 s, recbot and baseline): it must run,
 * write a result JSON with every figure, and print the table. The figures themselves are not
 * asserted (they depend on the machine), only that they were measured.
 */
describe("npm run bench (smoke: N=1 for 3 s)", () => {
  const out = mkdtempSync(path.join(tmpdir(), "recbot-bench-smoke-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("records through both servers and writes every figure", async () => {
    // The test runner is already in a loopback-only namespace where it matters (.ci/run), so no re-exec.
    const { stdout } = await run(process.execPath, [
      "bench/main.ts", "--steps", "1", "--seconds", "3", "--clip-seconds", "3", "--ramp-ms", "0", "--no-netns", "--out", out, "--tag", "smoke",
    ], { cwd: path.resolve(import.meta.dirname, "../.."), maxBuffer: 16 << 20 });
    // "1 ⚠" when the load generator fell behind its schedule (a loaded machine): the row is there all the same.
    expect(stdout).toMatch(/\| 1( ⚠)? \| recbot \|/);
    expect(stdout).toMatch(/\| 1( ⚠)? \| baseline \|/);

    const files = readdirSync(out).filter((f) => f.endsWith("-smoke.json"));
    expect(files).toHaveLength(1);
    const result = JSON.parse(readFileSync(path.join(out, files[0]), "utf8"));
    expect(result.machine.nproc).toBeGreaterThan(0);
    expect(result.steps.map((s: any) => `${s.server}:${s.n}`)).toEqual(["recbot:1", "baseline:1"]);

    const isNumber = (x: unknown) => typeof x === "number" && Number.isFinite(x);
    for (const step of result.steps) {
      for (const figure of [
        step.cpu.steadyTreePct, step.cpu.steadyNodePct, step.cpu.steadyTreeMsPerStreamSecond, step.cpu.totalTreeMsPerStreamSecond,
        step.memory.nodeIdleRssMB, step.memory.nodeMaxRssMB,
        step.latencyMs.offerToAnswer.p50, step.latencyMs.offerToAnswer.p95, step.latencyMs.byeToFinalized.p50,
        step.eventLoopLagMs.p99, step.loadgen.steadyPct, step.loadgen.totalMs,
      ]) expect(isNumber(figure), JSON.stringify(step)).toBe(true);
      expect(step.publishersOk).toBe(1);
      expect(step.frames.video.sent).toBe(90);
      expect(step.frames.audio.sent).toBe(150);
      expect(step.frames.files).toBe(1);
      expect(typeof step.loadgenLimited).toBe("boolean");
      expect(step.containerErrors).toHaveProperty("files");
    }
    const recbot = result.steps[0];
    // recbot's own file: one ffmpeg, frames found by ffprobe, decodes cleanly, A/V measured by packet content.
    expect(recbot.memory.ffmpegProcesses).toBe(1);
    expect(recbot.workers).toBe(1);
    expect(recbot.rampMs).toBe(0);
    // Per-thread CPU comes from /proc/<pid>/task/<tid>/stat: no thread can use more than its whole process.
    for (const t of recbot.cpu.steadyThreads) expect(t.pct).toBeLessThanOrEqual(recbot.cpu.steadyNodePct + 1);
    expect(isNumber(recbot.memory.ffmpegPssPerSessionMB)).toBe(true);
    // The default publisher is libdatachannel; its cost per publisher, Node's PSS and the file's frame intervals are measured.
    expect(recbot.loadgen.publisher).toBe("ndc");
    expect(isNumber(recbot.loadgen.steadyPctPerPublisher)).toBe(true);
    expect(isNumber(recbot.memory.nodeMaxPssMB)).toBe(true);
    expect(isNumber(recbot.memory.pssPerSessionMB)).toBe(true);
    expect(recbot.intervals.compared).toBeGreaterThan(100);
    expect(recbot.intervals.off).toBeLessThanOrEqual(recbot.intervals.compared);
    expect(recbot.frames.video.recorded).toBeGreaterThan(0);
    expect(recbot.decodeErrors.files).toBe(0);
    expect(recbot.containerErrors.files).toBe(0);
    expect(recbot.serverTrackStats.video.packets).toBeGreaterThan(0);
    expect(recbot.av.filesMeasured).toBe(1);
    expect(isNumber(recbot.latencyMs.offerToKeyframeOnDisk.p50)).toBe(true);
    expect(result.ratios).toHaveLength(1);
    expect(result.headline).toHaveProperty("kneeN");
  });
});
