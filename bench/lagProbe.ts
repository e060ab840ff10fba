/**
 * Preloaded into the server under test (`node --import ./bench/lagProbe.ts ...`) so recbot and the
 * baseline are measured the same way without code in either: event-loop delay from perf_hooks,
 * reset and read by the bench over the IPC channel.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

if (process.send) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  process.on("message", (m: { type?: string }) => {
    if (m?.type === "lag:reset") histogram.reset();
    else if (m?.type === "lag:read") {
      const ms = (ns: number) => ns / 1e6;
      process.send!({ type: "lag", p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max) });
    }
  });
  // The channel must not keep the server alive, nor change how it stops.
  process.channel?.unref();
}
