/**
 * Paired comparison of two recbot checkouts under the same load at the same time: server A (this checkout) and
 * server B (`--b-tree DIR`, e.g. an older commit with its own node_modules) each get N publishers from their own
 * load-generator process, started together, so both see the same machine. On a machine shared with other work,
 * sequential runs differ by more than the change being measured; paired ones do not.
 *
 *   node bench/paired.ts --b-tree /tmp/recbot-before --steps 20,40 --seconds 20 [--workers 1]
 *   node bench/paired.ts --b-tree . --b-node-args=--single-threaded-gc   (same code, different Node/V8 flags)
 *
 * Prints and writes (bench/results/<date>-paired.json), per step and server: CPU of the server tree (Node + ffmpeg)
 * per recorded stream-second over the steady window, the Node process alone, and packets recorded per file (ffprobe
 * -count_packets, no decode). Run it inside a loopback-only namespace (`unshare -n`), as the bench does.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { makeClip } from "../src/testkit/clip.ts";
import type { RunCommand } from "./loadgen.ts";
import { treeCpu } from "./procStats.ts";
import { ServerProcess } from "./serverProcess.ts";
import { Loadgen } from "./step.ts";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    "b-tree": { type: "string" }, steps: { type: "string", default: "20" }, seconds: { type: "string", default: "20" },
    workers: { type: "string", default: "1" }, publisher: { type: "string", default: "ndc" },
    "a-node-args": { type: "string", default: "" }, "b-node-args": { type: "string", default: "" },
  },
});
if (!values["b-tree"]) throw new Error("--b-tree DIR is required");
const trees = { A: path.resolve(import.meta.dirname, ".."), B: path.resolve(values["b-tree"]) };
const seconds = Number(values.seconds);
const nodeArgs = { A: values["a-node-args"]!.split(" ").filter(Boolean), B: values["b-node-args"]!.split(" ").filter(Boolean) };
const clip = await makeClip({ seconds: 10, width: 640, height: 480, fps: 30, videoBitrate: "1200k", gop: 60, tone: 441.3, intra: true });

async function packets(file: string): Promise<number> {
  const { stdout } = await run("ffprobe", ["-v", "error", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", file]);
  return stdout.trim().split("\n").reduce((a, l) => a + Number(l || 0), 0);
}

const results: object[] = [];
for (const n of values.steps!.split(",").map(Number)) {
  const sides = (["A", "B"] as const).map((name) => {
    const dir = mkdtempSync(path.join(tmpdir(), `recbot-paired-${name}-`));
    return { name, dir, server: new ServerProcess({ kind: "recbot", recordingsDir: dir, workers: Number(values.workers), tree: trees[name], nodeArgs: nodeArgs[name] }), loadgen: new Loadgen() };
  });
  try {
    const urls = await Promise.all(sides.map((s) => s.server.url));
    await new Promise((r) => setTimeout(r, 500));
    sides.forEach((s, i) => {
      const cmd: RunCommand = { type: "run", url: urls[i]!, count: n, seconds, clip: clip.files, rampMs: Math.max(1000, 100 * n), recordingsDir: s.dir, publisher: values.publisher as "ndc" };
      s.loadgen.child.send(cmd);
    });
    await Promise.all(sides.map((s) => s.loadgen.sending));
    const c0 = sides.map((s) => treeCpu(s.server.pid));
    const t0 = performance.now();
    await Promise.race(sides.map((s) => s.loadgen.sent));
    const windowMs = performance.now() - t0;
    const c1 = sides.map((s) => treeCpu(s.server.pid));
    const done = await Promise.all(sides.map((s) => s.loadgen.done));
    await Promise.all(sides.map((s) => s.server.stop()));
    for (let i = 0; i < 2; i++) {
      const pubs = done[i]!.publishers;
      const files = pubs.filter((p) => p.ok && p.file).map((p) => path.resolve(sides[i]!.dir, p.file!));
      let recorded = 0;
      for (const f of files) recorded += await packets(f);
      const sent = pubs.reduce((a, p) => a + (p.framesSent?.video ?? 0) + (p.framesSent?.audio ?? 0), 0);
      // Below 2 s (publishers still connecting when the first one finished) the window says nothing.
      const perStreamSecond = (ms: number) => (windowMs >= 2000 ? +(ms / ((windowMs / 1000) * n)).toFixed(2) : null);
      const r = {
        n, server: sides[i]!.name, tree: trees[sides[i]!.name], nodeArgs: nodeArgs[sides[i]!.name], windowMs: Math.round(windowMs),
        treeMsPerStreamSecond: perStreamSecond(c1[i]!.treeMs - c0[i]!.treeMs),
        nodeMsPerStreamSecond: perStreamSecond(c1[i]!.rootMs - c0[i]!.rootMs),
        publishersOk: files.length, framesSent: sent, framesRecorded: recorded,
        connectRetries: pubs.reduce((a, p) => a + Math.max(0, (p.connectAttempts ?? 1) - 1), 0),
      };
      results.push(r);
      console.log(JSON.stringify(r));
    }
  } finally {
    for (const s of sides) {
      if (s.loadgen.child.exitCode === null) s.loadgen.child.kill();
      await s.server.stop().catch(() => {});
      rmSync(s.dir, { recursive: true, force: true });
    }
  }
}
const out = path.join(trees.A, "bench/results");
mkdirSync(out, { recursive: true });
const file = path.join(out, `${new Date().toISOString().replace(/:/g, "-").replace(/\..*/, "Z")}-paired.json`);
writeFileSync(file, JSON.stringify({ trees, nodeArgs, seconds, results }, null, 2));
console.log(`results: ${file}`);
process.exit(0);
