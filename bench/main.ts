/**
 * `npm run bench`: finds recbot's limits. Ramps N publishers (separate load-generator process,
 * loopback only) against recbot running as its own process, and the same load against a minimal
 * werift MediaRecorder server as the baseline; writes bench/results/<date>.json and prints tables.
 * See docs/bench.md.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { recorderFfmpeg } from "../src/sinks/ffmpegRecorder/binary.ts";
import { makeClip } from "../src/testkit/clip.ts";
import { clipIndex, referenceAvOffsetMs } from "./analyzeFile.ts";
import { parseOptions, usage, type BenchOptions } from "./options.ts";
import { profileTable, summarize, type ProfileSummary } from "./profileTop.ts";
import { busiestThreadPct, headline, headlineText, markdownTable, ratioTable, ratios } from "./report.ts";
import { runStep, type StepResult } from "./step.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * As root on Linux, re-run inside a loopback-only network namespace (docs/lab.md's rule for anything that
 * starts peers): a misconfigured peer then cannot send a packet off the machine.
 */
function enterNetns(options: BenchOptions): boolean {
  if (options.noNetns || process.env.RECBOT_BENCH_NETNS || process.platform !== "linux" || process.getuid?.() !== 0) return false;
  const script = 'ip link set lo up && exec "$@"';
  const r = spawnSync("unshare", ["-n", "sh", "-c", script, "sh", process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, RECBOT_BENCH_NETNS: "1" },
  });
  if (r.error) throw new Error(`could not enter a network namespace (${r.error.message}); run with --no-netns to skip it`);
  process.exitCode = r.status ?? 1;
  return true;
}

function machine(serverTree = root) {
  const version = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8" }).split("\n")[0].trim();
    } catch {
      return "unknown";
    }
  };
  let model = cpus()[0]?.model ?? "unknown";
  try {
    model = /Model name:\s*(.+)/.exec(execFileSync("lscpu", { encoding: "utf8" }))?.[1]?.trim() ?? model;
  } catch {}
  return {
    nproc: cpus().length,
    cpuModel: model,
    node: process.version,
    werift: JSON.parse(readFileSync(path.join(serverTree, "node_modules/werift/package.json"), "utf8")).version as string,
    // The recbot that ran (--server-tree: another checkout) and its commit.
    recbotTree: { path: serverTree, commit: version("git", ["-C", serverTree, "rev-parse", "--short", "HEAD"]) },
    ffmpeg: version("ffmpeg", ["-version"]),
    // What the recorders run (docs/recorder-ffmpeg.md): RECBOT_FFMPEG_PATH, else the lean build when it is built.
    // Another checkout (--server-tree) picks its own (older ones: Debian's ffmpeg).
    recorderFfmpeg: serverTree === root ? recorderFfmpeg(process.env.RECBOT_FFMPEG_PATH ?? "auto") : { kind: "that checkout's", path: "its own choice" },
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    inNetns: Boolean(process.env.RECBOT_BENCH_NETNS),
  };
}

function lostFraction(r: StepResult): number {
  return r.frames.lostFraction ?? 1;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (enterNetns(options)) return;
  const info = machine(options.serverTree ? path.resolve(options.serverTree) : root);
  console.log(`recbot bench: steps ${options.steps.join(",")} × ${options.seconds} s, recbot workers ${options.workers}, recbot ${info.recbotTree.commit}${options.serverTree ? ` from ${info.recbotTree.path}` : ""}, recorder ffmpeg ${info.recorderFfmpeg.kind} (${info.recorderFfmpeg.path}), baseline ${options.baseline ? "on" : "off"}; ` +
    `${info.nproc} × ${info.cpuModel}, load average ${info.loadavgAtStart.join(" ")}${info.inNetns ? ", loopback-only netns" : ""}`);

  const started = Date.now();
  const clip = await makeClip({ seconds: options.clipSeconds, width: 640, height: 480, fps: 30, videoBitrate: "1200k", gop: 60, tone: 441.3, intra: true });
  const index = clipIndex(clip);
  const avZeroMs = await referenceAvOffsetMs(clip, index, path.dirname(clip.files.video));
  const clipBytes = clip.video.reduce((a, v) => a + v.data.length, 0);
  const clipInfo = {
    seconds: clip.seconds, width: 640, height: 480, fps: clip.fps,
    videoKbps: Math.round((clipBytes * 8) / clip.seconds / 1000),
    audioKbps: Math.round((clip.audio.reduce((a, v) => a + v.data.length, 0) * 8) / clip.seconds / 1000),
    videoFrames: clip.video.length, audioFrames: clip.audio.length, encodeMs: Date.now() - started, avZeroMs,
  };
  console.log(`clip: ${clipInfo.width}x${clipInfo.height} VP8 ${clipInfo.videoKbps} kbps @ ${clipInfo.fps} fps + Opus ${clipInfo.audioKbps} kbps, ${clipInfo.seconds} s (encoded in ${clipInfo.encodeMs} ms)`);

  const results: (StepResult & { profile?: ProfileSummary & { file: string } })[] = [];
  let stopReason = "all steps ran";
  for (const n of options.steps) {
    for (const server of options.baseline ? (["recbot", "baseline"] as const) : (["recbot"] as const)) {
      const profFile = options.cpuProf && server === "recbot" ? path.join(mkdtempSync(path.join(tmpdir(), "recbot-prof-")), `recbot-N${n}.cpuprofile`) : undefined;
      const r: StepResult & { profile?: ProfileSummary & { file: string } } = await runStep({
        server, n, seconds: options.seconds, rampMs: options.rampMs ?? Math.max(1000, 100 * n), loadgenProcs: options.loadgenProcs, publisher: options.publisher,
        clip, clipIndex: index, avZeroMs, cpuProfFile: profFile, keep: options.keep, workers: options.workers, serverNodeArgs: options.serverNodeArgs, serverTree: options.serverTree,
      });
      const prof = profFile;
      if (prof && !existsSync(prof)) console.log(`\nallocation profile (RECBOT_BENCH_HEAP_PROF): ${prof.replace(/\.cpuprofile$/, ".heapprofile")} (node bench/heapTop.ts FILE)`);
      else if (prof) {
        r.profile = { file: prof, ...summarize(JSON.parse(readFileSync(prof, "utf8")), 10) };
        console.log(`\nCPU profile of recbot's Node process at N=${n}, steady window (${prof}):\n${profileTable(r.profile)}\n`);
      }
      results.push(r);
      console.log(
        `N=${n} ${server}: CPU ${r.cpu.steadyTreePct}% of a core (node ${r.cpu.steadyNodePct}%, busiest thread ${busiestThreadPct(r)}%), ${r.cpu.steadyTreeMsPerStreamSecond} CPU-ms/stream-s steady, ` +
          `${r.cpu.totalTreeMsPerStreamSecond} total; lost video ${r.frames.video.lost}/${r.frames.video.sent} audio ${r.frames.audio.lost}/${r.frames.audio.sent}; ` +
          `decode-error files ${r.decodeErrors.files}; lag p99 ${r.eventLoopLagMs.p99} ms; load gen ${r.loadgen.steadyPct}%, other ${r.otherSteadyPct}%` +
          (r.loadgenLimited ? `; ⚠ load generator fell ${r.loadgen.maxLateMs} ms behind` : "") +
          (r.errors.length ? `; errors: ${r.errors.join(" | ")}` : ""),
      );
    }
    const r = results.find((x) => x.server === "recbot" && x.n === n)!;
    if (lostFraction(r) > options.maxLoss) {
      stopReason = `N=${n}: recbot lost ${(lostFraction(r) * 100).toFixed(1)} % of frames (limit ${options.maxLoss * 100} %)` +
        (r.loadgenLimited ? `; the load generator fell ${r.loadgen.maxLateMs} ms behind (machine saturated: other work ${r.otherSteadyPct} % of a core)` : "");
      break;
    }
    // One thread at a full core is the limit: with workers the process as a whole may use more than one core.
    const busiest = r.cpu.steadyThreads[0];
    if (busiest && busiest.pct > options.maxCpu) {
      stopReason = `N=${n}: recbot's busiest thread (${busiest.name}) used ${busiest.pct} % of a core (limit ${options.maxCpu} %)`;
      break;
    }
  }

  const head = headline(results);
  const date = new Date(started).toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z");
  const outDir = path.resolve(root, options.out);
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${date}${options.tag ? `-${options.tag}` : ""}.json`);
  const rs = ratios(results);
  writeFileSync(file, JSON.stringify({ date: new Date(started).toISOString(), machine: info, options, clip: clipInfo, stopReason, headline: head, steps: results, ratios: rs }, null, 2) + "\n");

  console.log(`\n${markdownTable(results)}\n`);
  const rt = ratioTable(rs);
  if (rt) console.log(`${rt}\n`);
  console.log(`${headlineText(head)}\nStopped: ${stopReason}\nResults: ${path.relative(process.cwd(), file)}`);
  rmSync(path.dirname(clip.files.video), { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err instanceof Error && err.message.startsWith("--") ? `${err.message}\n${usage}` : err);
  process.exit(1);
});
