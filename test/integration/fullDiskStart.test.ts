import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startRecbotProcess, type RecbotProcess } from "../helpers/recbotProcess.ts";

/**
 * Issue 16 #7: recbot starts on a full disk. A real full filesystem: a 1 MiB tmpfs as the recordings directory
 * (needs root, as the lab and CI run), filled up before recbot starts.
 */

let recbot: RecbotProcess | undefined;
let mounted: string | undefined;
afterEach(async () => {
  await recbot?.stop();
  recbot = undefined;
  if (mounted) execFileSync("umount", [mounted]);
  mounted = undefined;
});

function fill(dir: string): void {
  // Write 4 KiB blocks until the filesystem refuses (ENOSPC); dd exits non-zero then, which is the point.
  try {
    execFileSync("dd", ["if=/dev/zero", `of=${path.join(dir, "filler.bin")}`, "bs=4096"], { stdio: "ignore" });
  } catch {}
  expect(() => writeFileSync(path.join(dir, "probe.tmp"), "x".repeat(8192))).toThrow(/ENOSPC/);
}

const canMount = process.getuid?.() === 0;

describe.skipIf(!canMount)("start-up on a full disk", () => {
  it("starts, reports the interrupted recording through the API, removes an empty orphan, writes the sidecars once space is back", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-fulldisk-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]);
    mounted = dir;

    // What a SIGKILLed recbot leaves: a sidecar still saying `recording`, its (playable) media file; and a
    // 0-byte media file without a sidecar (its recording started as the disk filled up), and one with data.
    const left = "rec_20260101_000000_aaaa0001";
    const empty = "rec_20260101_000001_bbbb0002";
    const orphan = "rec_20260101_000002_cccc0003";
    writeFileSync(path.join(dir, `${left}.webm`), Buffer.alloc(20_000, 1));
    writeFileSync(path.join(dir, `${left}.json`), JSON.stringify({
      id: left, sessionId: "s1", streamId: "cam", file: path.join(dir, `${left}.webm`), container: "webm",
      tracks: [{ kind: "video", codec: "vp8" }], state: "recording", startedAt: "2026-01-01T00:00:00.000Z",
    }));
    writeFileSync(path.join(dir, `${empty}.webm`), "");
    writeFileSync(path.join(dir, `${orphan}.mkv`), Buffer.alloc(10_000, 2));
    fill(dir);

    recbot = await startRecbotProcess({ RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_RECORDINGS_DIR: dir });
    const { url } = recbot;
    expect(recbot.logs.some((l) => l.msg?.includes("sidecars could not be rewritten") && l.unsaved === 2)).toBe(true);

    // The API tells the truth although the disk does not have it yet.
    const meta = (await (await fetch(`${url}/recordings/${left}`)).json()) as { state: string; sizeBytes: number };
    expect(meta).toMatchObject({ state: "interrupted", sizeBytes: 20_000 });
    expect(JSON.parse(readFileSync(path.join(dir, `${left}.json`), "utf8")).state).toBe("recording");
    const list = (await (await fetch(`${url}/recordings`)).json()) as { items: { id: string; state: string }[] };
    expect(list.items.map((i) => [i.id, i.state]).sort()).toEqual([[left, "interrupted"], [orphan, "interrupted"]]);
    expect(existsSync(path.join(dir, `${empty}.webm`))).toBe(false);
    // And it serves the files, so they can be saved elsewhere and deleted to free space.
    expect((await fetch(`${url}/recordings/${left}/file`)).status).toBe(200);

    // Space comes back: the sidecars are written within a retry or two.
    rmSync(path.join(dir, "filler.bin"));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(existsSync(path.join(dir, `${orphan}.json`)) && JSON.parse(readFileSync(path.join(dir, `${left}.json`), "utf8")).state === "interrupted")) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(JSON.parse(readFileSync(path.join(dir, `${left}.json`), "utf8")).state).toBe("interrupted");
    expect(JSON.parse(readFileSync(path.join(dir, `${orphan}.json`), "utf8"))).toMatchObject({ id: orphan, state: "interrupted", container: "mkv", sizeBytes: 10_000 });
    expect(recbot.logs.some((l) => l.msg === "unsaved sidecars written" && l.left === 0)).toBe(true);
    // Deleting through the API works for the adopted orphan too.
    expect((await fetch(`${url}/recordings/${orphan}`, { method: "DELETE" })).status).toBe(204);
    expect(existsSync(path.join(dir, `${orphan}.mkv`))).toBe(false);
  });
});
