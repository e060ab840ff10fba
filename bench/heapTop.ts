/**
 * Summarises a V8 sampling allocation profile (.heapprofile, from RECBOT_BENCH_HEAP_PROF=1 with --cpu-prof):
 * bytes allocated per function (self) and per origin, collected objects included, so it shows what feeds the GC.
 *   node bench/heapTop.ts FILE.heapprofile [top=25]
 */
import { readFileSync } from "node:fs";
import { origin } from "./profileTop.ts";

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: node bench/heapTop.ts FILE.heapprofile [top]");
const root: Node = JSON.parse(readFileSync(file, "utf8")).head;
const byFunction = new Map<string, number>();
const byOrigin = new Map<string, number>();
let total = 0;
(function walk(n: Node, parent: string) {
  const where = n.callFrame.url ? `${n.callFrame.url.replace(/^.*\/(node_modules|src)\//, "$1/")}:${n.callFrame.lineNumber + 1}` : "";
  // Node's own helpers (subarray, alloc, …) are named with their caller: that is where to cut.
  const internal = !where || n.callFrame.url.startsWith("node:");
  const name = `${n.callFrame.functionName || "(anonymous)"} ${internal ? `← ${parent}` : where}`;
  if (n.selfSize) {
    total += n.selfSize;
    byFunction.set(name, (byFunction.get(name) ?? 0) + n.selfSize);
    const o = origin(n.callFrame.url, n.callFrame.functionName);
    byOrigin.set(o, (byOrigin.get(o) ?? 0) + n.selfSize);
  }
  for (const c of n.children) walk(c, internal ? parent : `${n.callFrame.functionName} ${where}`);
})(root, "");
const pct = (b: number) => ((100 * b) / total).toFixed(1);
console.log(`sampled allocations: ${(total / 1e6).toFixed(1)} MB`);
for (const [name, b] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25))) console.log(`${pct(b).padStart(5)} %  ${(b / 1e6).toFixed(2).padStart(7)} MB  ${name}`);
console.log("by origin:", [...byOrigin].sort((a, b) => b[1] - a[1]).map(([o, b]) => `${o} ${pct(b)} %`).join(", "));
