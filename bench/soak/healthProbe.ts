/**
 * Polls recbot's /healthz every 100 ms from its own process (so the soak's busy client peers do not inflate the
 * figure) and reports the latencies on `{type:"read"}` over IPC. argv[2]: base URL.
 */
const base = process.argv[2];
const latencies: number[] = [];
let failures = 0;
let worstAt = "";
let worst = 0;

async function poll(): Promise<void> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) });
    await res.text();
    if (!res.ok) failures++;
  } catch {
    failures++;
  }
  const ms = performance.now() - t0;
  if (ms > worst) {
    worst = ms;
    worstAt = new Date().toISOString();
  }
  latencies.push(ms);
}

// The first request of a fresh process loads and compiles fetch (undici) and opens the connection: 190–440 ms
// measured, every run, whatever recbot does. Make it untimed, then tell the soak the probe is ready.
await fetch(`${base}/healthz`).then((r) => r.text()).catch(() => {});
const timer = setInterval(() => void poll(), 100);
process.send!({ type: "ready" });
process.on("message", (m: { type?: string }) => {
  if (m?.type !== "read") return;
  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  process.send!({ type: "health", polls: latencies.length, failures, p50Ms: pct(50), p99Ms: pct(99), maxMs: sorted.at(-1) ?? NaN, over100: latencies.filter((l) => l > 100).length, worstAt });
});
process.on("disconnect", () => {
  clearInterval(timer);
  process.exit(0);
});
