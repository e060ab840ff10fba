import { runLoopback } from "../loopback/runLoopback.ts";
import { summaryTable } from "../loopback/summaryTable.ts";
import type { Thresholds } from "../loopback/thresholds.ts";
import { parseFlags } from "./args.ts";
import { UsageError } from "./usage.ts";

export const loopbackUsage = `usage: recbot loopback [URL] [--seconds N] [--out DIR] [--ice-addresses A,B] [--ice-servers URLS] [--no-recording-check]
                      [--max-loss-pct X] [--max-rtt-p95-ms X] [--max-jitter-ms X] [--max-freezes N]
                      [--min-frames-returned-ratio X] [--max-echo-av-offset-ms X]
                      [--min-recorded-frames-ratio X] [--max-recording-av-offset-ms X]
Publishes a flash/beep VP8+Opus signal in echo mode to recbot at URL (http://host:port), or to a recbot
started in-process when no URL is given; prints a summary, writes DIR/report.json and DIR/report.html.
The recording check reads the file recbot reports, so it needs recbot's recordings directory on this machine;
--no-recording-check leaves it out (for a recbot elsewhere).
Exit status: 0 all checks pass, 1 a threshold failed, 2 bad arguments, 3 the run itself failed.`;

const thresholdFlags: Record<string, keyof Thresholds> = {
  "max-loss-pct": "maxLossPct",
  "max-rtt-p95-ms": "maxRttP95Ms",
  "max-jitter-ms": "maxJitterMs",
  "max-freezes": "maxFreezes",
  "min-frames-returned-ratio": "minFramesReturnedRatio",
  "max-echo-av-offset-ms": "maxEchoAvOffsetMs",
  "min-recorded-frames-ratio": "minRecordedFramesRatio",
  "max-recording-av-offset-ms": "maxRecordingAvOffsetMs",
};

/** `recbot loopback`: returns the process exit status. */
export async function loopbackCommand(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const fail = (e: unknown) => {
    if (!(e instanceof UsageError)) throw e;
    err.write(`${e.message}\n\n${loopbackUsage}\n`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseFlags("loopback", loopbackUsage, argv, {
      seconds: { type: "string" }, out: { type: "string" }, "no-recording-check": { type: "boolean" }, "ice-addresses": { type: "string" }, "ice-servers": { type: "string" },
      ...Object.fromEntries(Object.keys(thresholdFlags).map((k) => [k, { type: "string" as const }])),
    }, true);
  } catch (e) {
    return fail(e);
  }
  const { values, positionals } = parsed;
  const usageError = (message: string) => new UsageError(`recbot loopback: ${message}`, loopbackUsage);
  const num = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw usageError(`--${name}: expected a non-negative number, got "${text}"`);
    return n;
  };
  const list = (text: string | undefined) => text?.split(",").map((s) => s.trim()).filter(Boolean);
  let thresholds: Partial<Thresholds>;
  let seconds: number | undefined;
  try {
    if (positionals.length > 1) throw usageError("at most one URL");
    if (positionals[0] && !/^https?:\/\//.test(positionals[0])) throw usageError(`URL must be http(s)://host:port, got "${positionals[0]}"`);
    seconds = num("seconds", values.seconds as string | undefined);
    if (seconds !== undefined && seconds < 1) throw usageError("--seconds must be at least 1");
    thresholds = Object.fromEntries(
      Object.entries(thresholdFlags)
        .map(([flag, key]) => [key, num(flag, (values as Record<string, string | undefined>)[flag])])
        .filter(([, v]) => v !== undefined),
    );
  } catch (e) {
    return fail(e);
  }
  try {
    const report = await runLoopback({
      url: positionals[0], seconds, outDir: values.out as string | undefined, thresholds,
      iceAddresses: list(values["ice-addresses"] as string | undefined), iceServers: list(values["ice-servers"] as string | undefined),
      progress: err, checkRecording: !values["no-recording-check"],
    });
    out.write(`${summaryTable(report.checks)}\n\n${report.passed ? "PASS" : "FAIL"}  report: ${report.files.html} (json: ${report.files.json})\n`);
    return report.passed ? 0 : 1;
  } catch (e) {
    err.write(`loopback failed: ${(e as Error).message}\n`);
    return 3;
  }
}
