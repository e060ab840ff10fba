import { parseArgs } from "node:util";

export interface BenchOptions {
  /** Publisher counts to ramp through, in order. */
  steps: number[];
  /** Seconds of media each publisher sends per step. */
  seconds: number;
  /**
   * Publishers start evenly spread over this time (ms), like real arrivals rather than one burst. Undefined: 100 ms
   * per publisher, at least 1 s (ten calls a second; 40 offers within one second cost ~3 % of frames on this 2-core
   * machine, see docs/bench.md).
   */
  rampMs: number | undefined;
  /** Run the werift MediaRecorder baseline at every step too. */
  baseline: boolean;
  /** Stop the ramp after a step whose lost-frame fraction (video+audio) is above this. */
  maxLoss: number;
  /** Stop the ramp after a step where one of recbot's threads used more than this % of one core. */
  maxCpu: number;
  /** Load-generator processes (publishers are split between them). */
  loadgenProcs: number;
  /** Clip length in seconds (encoded once, looped). */
  clipSeconds: number;
  /** Profile recbot's steady window at each step (V8 CPU profiler) and summarise it. */
  cpuProf: boolean;
  /** Where the result JSON goes. */
  out: string;
  /** File name tag (e.g. "smoke"); results with a tag are not meant to be committed. */
  tag: string;
  /** Keep the recordings (printed paths) instead of deleting them after each step. */
  keep: boolean;
  /** Do not re-run inside a loopback-only network namespace. */
  noNetns: boolean;
  /** recbot's `workers` option (worker threads for sessions); the baseline ignores it. */
  workers: number;
  /** Who publishes: "ndc" (libdatachannel, cheap: the default) or "werift" (the integration tests' publisher). */
  publisher: "ndc" | "werift";
  /** Extra Node/V8 flags for the server processes (space-separated), e.g. GC flags under comparison. */
  serverNodeArgs: string[];
  /** Run recbot from this checkout instead of this one (an older commit with its own node_modules): before/after. */
  serverTree?: string;
}

const DEFAULT_STEPS = [1, 2, 5, 10, 20, 30, 40, 50, 70, 100, 150, 200];

export const usage = `usage: npm run bench -- [options]     (every option also reads RECBOT_BENCH_<NAME>)
  --steps 1,2,5,10,20,...   publishers per step (default ${DEFAULT_STEPS.join(",")})
  --seconds 15              media seconds per publisher per step
  --ramp-ms MS              spread publisher starts over this time (default: 100 ms per publisher, at least 1000)
  --no-baseline             skip the werift MediaRecorder baseline
  --max-loss 0.02           stop after a step losing more than this fraction of frames
  --max-cpu 95              stop after a step where one of recbot's threads used more than this % of a core
  --loadgen-procs 1         load-generator processes
  --clip-seconds 10         length of the pre-encoded clip (looped)
  --cpu-prof                profile recbot's steady window (V8 CPU profiler, as node --cpu-prof) and print the top functions
  --out bench/results       result directory;  --tag NAME  file name suffix
  --workers 1               recbot's workers option (sessions in N worker threads)
  --publisher ndc           ndc (node-datachannel/libdatachannel, default) or werift publishers
  --server-node-args="…"    extra Node/V8 flags for the server processes (e.g. "--trace-gc")
  --server-tree DIR         run recbot from another checkout (e.g. an older commit, npm ci'd): before/after figures
  --keep                    keep recordings;   --no-netns  don't enter a loopback-only network namespace`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      steps: { type: "string" }, seconds: { type: "string" }, "ramp-ms": { type: "string" },
      "no-baseline": { type: "boolean" }, "max-loss": { type: "string" }, "max-cpu": { type: "string" },
      "loadgen-procs": { type: "string" }, "clip-seconds": { type: "string" }, "cpu-prof": { type: "boolean" },
      out: { type: "string" }, workers: { type: "string" }, publisher: { type: "string" }, tag: { type: "string" }, keep: { type: "boolean" }, "no-netns": { type: "boolean" },
      "server-node-args": { type: "string" }, "server-tree": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const get = (flag: string): string | undefined => {
    const v = (values as Record<string, string | boolean | undefined>)[flag];
    if (v !== undefined) return String(v);
    return env[`RECBOT_BENCH_${flag.toUpperCase().replace(/-/g, "_")}`] || undefined;
  };
  const num = (flag: string, fallback: number) => {
    const text = get(flag);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag}: expected a non-negative number, got "${text}"`);
    return n;
  };
  const steps = get("steps")?.split(",").map((s) => Number(s.trim())) ?? DEFAULT_STEPS;
  if (!steps.length || steps.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--steps: expected positive integers, got "${get("steps")}"`);
  return {
    steps,
    seconds: num("seconds", 15),
    rampMs: get("ramp-ms") === undefined ? undefined : num("ramp-ms", 1000),
    baseline: get("no-baseline") !== "true",
    maxLoss: num("max-loss", 0.02),
    maxCpu: num("max-cpu", 95),
    loadgenProcs: Math.max(1, Math.round(num("loadgen-procs", 1))),
    clipSeconds: num("clip-seconds", 10),
    cpuProf: get("cpu-prof") === "true",
    out: get("out") ?? "bench/results",
    tag: get("tag") ?? "",
    keep: get("keep") === "true",
    noNetns: get("no-netns") === "true",
    workers: Math.max(1, Math.round(num("workers", 1))),
    publisher: publisherOf(get("publisher")),
    serverNodeArgs: (get("server-node-args") ?? "").split(" ").filter(Boolean),
    serverTree: get("server-tree"),
  };
}

function publisherOf(text: string | undefined): "ndc" | "werift" {
  if (text === undefined || text === "ndc" || text === "werift") return text ?? "ndc";
  throw new Error(`--publisher: expected ndc or werift, got "${text}"`);
}
