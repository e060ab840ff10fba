/**
 * Preloaded into the server under test (`node --import ./bench/lagProbe.ts ...`) so recbot and the
 * baseline are measured the same way without code in either, over the IPC channel:
 * - event-loop delay (perf_hooks), reset and read by the bench;
 * - V8 CPU profile (the profiler behind `node --cpu-prof`) of just the window the bench asks for,
 *   not of module loading and idle time before the load; with RECBOT_BENCH_HEAP_PROF=1 in the server's
 *   environment, a sampling allocation profile (.heapprofile: every sampled allocation, collected or not) instead.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";

if (process.send) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let session: Session | undefined;
  const heapProf = process.env.RECBOT_BENCH_HEAP_PROF === "1";
  const reply = (m: object) => process.send!(m);
  process.on("message", (m: { type?: string; file?: string; intervalUs?: number }) => {
    if (m?.type === "lag:reset") histogram.reset();
    else if (m?.type === "lag:read") {
      const ms = (ns: number) => ns / 1e6;
      reply({ type: "lag", p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max) });
    } else if (m?.type === "prof:start" && heapProf) {
      session = new Session();
      session.connect();
      void session
        .post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
        .then(() => reply({ type: "prof:started" }));
    } else if (m?.type === "prof:stop" && heapProf && session && m.file) {
      const s = session;
      session = undefined;
      void s.post("HeapProfiler.stopSampling").then(({ profile }) => {
        writeFileSync(m.file!.replace(/\.cpuprofile$/, ".heapprofile"), JSON.stringify(profile));
        s.disconnect();
        reply({ type: "prof:stopped", file: m.file });
      });
    } else if (m?.type === "prof:start") {
      session = new Session();
      session.connect();
      void session
        .post("Profiler.enable")
        // A finer interval (e.g. 200 µs) for finding long tasks; V8's default is 1 ms.
        .then(() => (m.intervalUs ? session!.post("Profiler.setSamplingInterval", { interval: m.intervalUs }) : undefined))
        .then(() => session!.post("Profiler.start"))
        .then(() => reply({ type: "prof:started" }));
    } else if (m?.type === "prof:stop" && session && m.file) {
      const s = session;
      session = undefined;
      void s.post("Profiler.stop").then(({ profile }) => {
        writeFileSync(m.file!, JSON.stringify(profile));
        s.disconnect();
        reply({ type: "prof:stopped", file: m.file });
      });
    }
  });
  // If the bench dies (even by SIGKILL) its end of the channel closes: stop as on SIGTERM, finalizing
  // recordings, rather than live on as an orphan.
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
  // The channel must not keep the server alive, nor change how it stops.
  process.channel?.unref();
}
