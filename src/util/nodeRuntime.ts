import { setFlagsFromString } from "node:v8";

/**
 * Node 24.18.0 changed how crypto tells a Buffer key from a KeyObject, and creating a cipher or HMAC from a Buffer
 * key became 4–6× slower (measured here: createDecipheriv 31 µs vs 6–8 µs on 22.23, 24.17 and 26.10). werift builds
 * a cipher and an HMAC from Buffer keys for every SRTP packet, so on those versions SRTP alone takes about a third
 * of recbot's CPU (docs/bench.md). 24.21.0 is the newest 24.x checked; later 24.x may still have it.
 */
export function slowSrtpRuntime(version: string = process.versions.node): string | undefined {
  const [major, minor] = version.split(".").map(Number);
  if (major === 24 && minor >= 18) {
    return `Node ${version} creates ciphers from Buffer keys 4–6× slower than Node 22 or 26, and werift does so for every SRTP packet: expect about 1.5× recbot's CPU per stream (run it with the project's own Node: npm start, or npx node)`;
  }
  return undefined;
}

/** What `tuneGc` sets. V8 ignores a flag it does not know, silently: a test checks this Node's V8 knows these. */
export const GC_FLAGS = ["--incremental-marking-soft-trigger=50", "--incremental-marking-hard-trigger=80"];

/**
 * V8 starts a full (mark-compact) GC as soon as the old generation's headroom (its limit minus its size) is smaller
 * than the young generation's target capacity. recbot's old generation (~35 MB with 20 sessions) often settles with
 * its limit just there, and then every full GC is followed by the next one ~0.5 s later, whatever the old generation
 * does: in 2 of 3 twenty-second bench steps at N = 20, 32–35 full GCs and ~20 CPU-ms per stream-second instead of
 * 2 and ~14 (docs/gc.md). These V8 flags replace that rule with percentages of the headroom the old generation has
 * used since the last full GC: marking starts soon at 50 % and at once at 80 %, so it runs when the old generation
 * grows. They are read whenever V8 checks, so setting them at start-up works, for worker threads too.
 * RECBOT_GC_TUNING=0 leaves V8's default (for comparisons).
 */
export function tuneGc(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.RECBOT_GC_TUNING === "0") return false;
  for (const flag of GC_FLAGS) setFlagsFromString(flag);
  return true;
}
