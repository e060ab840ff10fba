import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { loopbackCommand } from "../../src/cli/loopback.ts";
import type { LoopbackReport } from "../../src/loopback/runLoopback.ts";

const ROOT = path.join(import.meta.dirname, "../..");
const ARTIFACTS = path.join(ROOT, "test-artifacts");

function capture() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (d) => (text += d));
  return { stream, text: () => text };
}

describe("recbot loopback", () => {
  it("passes against an in-process recbot, reports every figure, and renders an HTML report", async () => {
    const outDir = mkdtempSync(path.join(tmpdir(), "recbot-loopback-report-"));
    const out = capture();
    const err = capture();
    // Timing limits are opened wide: the machine is shared, so timing figures go to the report, not into asserts.
    const wide = ["--max-rtt-p95-ms", "10000", "--max-jitter-ms", "10000", "--max-freezes", "1000", "--max-echo-av-offset-ms", "10000"];
    const status = await loopbackCommand(["--seconds", "4", "--out", outDir, ...wide], out.stream, err.stream);
    expect(status, `${out.text()}\n${err.text()}`).toBe(0);
    expect(err.text()).toMatch(/^loopback: 4\/4 s/m); // not a TTY: plain progress lines
    expect(out.text()).toMatch(/^PASS/m);

    const report = JSON.parse(readFileSync(path.join(outDir, "report.json"), "utf8")) as LoopbackReport;
    expect(report.passed).toBe(true);
    expect(report.checks.length).toBe(14);
    expect(report.metrics.video.framesSent).toBe(120);
    expect(report.metrics.video.framesReturned).toBe(120);
    expect(report.metrics.audio.framesReturned).toBe(report.metrics.audio.framesSent);
    expect(report.metrics.video.unmatched).toBe(0);
    expect(report.series.length).toBeGreaterThanOrEqual(4);
    expect("file" in report.recording && report.recording.codecs).toEqual(["vp8", "opus"]);
    // The flash/beep signal and its measurement are the A/V sync tests' (test/integration/avSync.test.ts): same bound.
    expect("file" in report.recording && Math.abs(report.recording.avOffsetMs)).toBeLessThanOrEqual(40);

    mkdirSync(ARTIFACTS, { recursive: true });
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless=new", "--no-sandbox", "--disable-gpu"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
      await page.goto(`file://${path.join(outDir, "report.html")}`);
      expect(await page.locator("svg").count()).toBe(4);
      expect(await page.locator("tbody tr").count()).toBe(14);
      expect(await page.locator(".verdict").textContent()).toBe("PASS");
      // Every chart has a line with a point per second.
      for (const svg of await page.locator("svg").all()) expect(await svg.locator("circle").count()).toBeGreaterThanOrEqual(4);
      await page.screenshot({ path: path.join(ARTIFACTS, "loopback-report.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it("exits non-zero from the real CLI when a threshold fails", async () => {
    const outDir = mkdtempSync(path.join(tmpdir(), "recbot-loopback-fail-"));
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(ROOT, "src/cli/main.ts"), "loopback", "--seconds", "3", "--max-rtt-p95-ms", "0", "--out", outDir],
        { timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? (error as any).code ?? null : 0, stdout, stderr }));
    });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(/round trip video .* FAIL/);
    expect(result.stdout).toMatch(/^FAIL/m);
    const report = JSON.parse(readFileSync(path.join(outDir, "report.json"), "utf8")) as LoopbackReport;
    expect(report.passed).toBe(false);
    const failed = report.checks.filter((c) => !c.pass).map((c) => c.name);
    expect(failed).toContain("round trip video (median / p95)");
    expect(failed).toContain("round trip audio (median / p95)");
  });

  it("rejects bad arguments with status 2", async () => {
    const err = capture();
    expect(await loopbackCommand(["--seconds", "abc"], capture().stream, err.stream)).toBe(2);
    expect(err.text()).toMatch(/--seconds/);
    expect(await loopbackCommand(["ws://x"], capture().stream, capture().stream)).toBe(2);
  });
});
