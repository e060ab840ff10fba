import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { createRecbot } from "../../src/index.ts";

const run = promisify(execFile);
const SESSIONS = Number(process.env.CHURN_SESSIONS ?? 200);

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function resources() {
  const fds = readdirSync("/proc/self/fd").map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return "";
    }
  });
  const children = readdirSync(`/proc/self/task`).flatMap((t) => readFileSync(`/proc/self/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean));
  const timers = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
  gc();
  gc();
  return { fds: fds.length, sockets: fds.filter((f) => f.startsWith("socket:")).length, children: children.length, timers, heapMB: process.memoryUsage().heapUsed / 2 ** 20 };
}

describe("churn", () => {
  it(`${SESSIONS} sessions connect, record briefly and leave (a third abruptly): resources return to baseline`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-churn-"));
    const recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: "silent", rateLimitPerMinute: 1_000_000 });
    const ws = (await recbot.listen()).replace("http", "ws") + "/ws";
    try {
      const before = resources();
      const { stdout } = await run(process.execPath, [path.join(import.meta.dirname, "../helpers/churnProcess.ts"), ws, String(SESSIONS), "8"], { maxBuffer: 1 << 20, timeout: 600_000 });
      const outcomes = JSON.parse(stdout.trim().split("\n").pop()!);
      // Abrupt leavers are finalized when their socket drops; give the last ones a moment.
      const deadline = Date.now() + 20_000;
      let after = resources();
      while ((after.children > before.children || after.timers > before.timers) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        after = resources();
      }
      const finished = readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")));
      expect(Object.keys(outcomes).filter((k) => k.startsWith("error")), JSON.stringify(outcomes)).toEqual([]);
      expect(outcomes["bye:finished"] + outcomes.abrupt).toBe(SESSIONS);
      expect(finished.length).toBe(SESSIONS);
      expect(finished.filter((m) => m.state !== "finished")).toEqual([]);
      expect(after.children).toBe(before.children);
      expect(after.fds).toBeLessThanOrEqual(before.fds);
      expect(after.sockets).toBeLessThanOrEqual(before.sockets);
      expect(after.timers).toBeLessThanOrEqual(before.timers);
      expect(after.heapMB - before.heapMB).toBeLessThan(50);
    } finally {
      await recbot.close();
    }
  }, 900_000);
});
