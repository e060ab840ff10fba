/**
 * Preloaded into recbot by the soak (`node --import ./bench/soak/memProbe.ts ...`): on `{type:"mem"}` over the IPC
 * channel it runs full garbage collections and replies with process.memoryUsage(), so the soak compares what recbot
 * still holds (heap + Buffers), not garbage that V8 has not collected yet. `{type:"mem", gc:false}` skips the
 * collections: two forced full GCs stall recbot's event loop for up to ~260 ms (measured with --trace-gc), so the
 * samples taken while /healthz is being timed must not force them.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

if (process.send) {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  process.on("message", (m: { type?: string; gc?: boolean }) => {
    if (m?.type !== "mem") return;
    if (m.gc !== false) {
      gc();
      gc();
    }
    const u = process.memoryUsage();
    process.send!({ type: "mem", heapUsed: u.heapUsed, arrayBuffers: u.arrayBuffers, external: u.external, rss: u.rss });
  });
}
