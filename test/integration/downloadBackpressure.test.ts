import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startRecbotProcess, type RecbotProcess } from "../helpers/recbotProcess.ts";

/** Issue 16, left open: a client that downloads slowly (or not at all) must not make recbot hold the file in memory. */

let recbot: RecbotProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  await recbot?.stop();
  recbot = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true }); // 256 MiB
  dir = undefined;
});

const rssMb = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
/** Bytes the process has read through read(2) and friends (the file, sockets): what it pulled off the disk. */
const readBytes = (pid: number) => Number(/^rchar:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))![1]);

const SIZE = 256 * 1024 * 1024;

/** A 256 MiB recording with non-zero, position-dependent content (so a wrong byte shows). */
function bigRecording(dir: string, id: string): string {
  const file = path.join(dir, `${id}.webm`);
  const fd = openSync(file, "w");
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < SIZE / block.length; i++) {
    block.fill(i % 251);
    writeSync(fd, block);
  }
  closeSync(fd);
  writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({
    id, sessionId: "s", streamId: "cam", file, container: "webm", tracks: [], state: "finished", startedAt: new Date().toISOString(), sizeBytes: SIZE,
  }));
  return file;
}

describe("downloading a recording", () => {
  it("a client that stops reading holds recbot to a few MB read ahead, and a slow reader still gets every byte", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "recbot-download-"));
    const id = "rec_20260101_000000_dddd0004";
    const file = bigRecording(dir, id);
    recbot = await startRecbotProcess({ RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_RECORDINGS_DIR: dir });
    const { pid } = recbot;
    const port = Number(new URL(recbot.url).port);
    const rss0 = rssMb(pid);
    const read0 = readBytes(pid);

    // 1. Ask for the file and read nothing.
    const stalled = connect(port, "127.0.0.1");
    await new Promise<void>((r) => stalled.once("connect", () => r()));
    stalled.pause();
    stalled.write(`GET /recordings/${id}/file HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 3000));
    const pulled = readBytes(pid) - read0;
    const grown = rssMb(pid) - rss0;
    const stalledFigures = `stalled reader: recbot read ${(pulled / 2 ** 20).toFixed(1)} MiB of the 256 MiB file, RSS +${grown.toFixed(0)} MB`;
    expect(pulled, stalledFigures).toBeLessThan(32 * 2 ** 20); // measured: 3.9 MiB
    expect(grown, stalledFigures).toBeLessThan(64);
    stalled.destroy();

    // 2. A slow reader (paced reads) gets the whole file, exactly.
    const slow = connect(port, "127.0.0.1");
    await new Promise<void>((r) => slow.once("connect", () => r()));
    slow.write(`GET /recordings/${id}/file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const hash = createHash("sha256");
    let header = "";
    let body = 0;
    const read1 = readBytes(pid);
    let maxAhead = 0; // bytes recbot has read from disk beyond what the client has received
    await new Promise<void>((resolve, reject) => {
      slow.on("error", reject);
      slow.on("end", () => resolve());
      slow.on("data", (chunk: Buffer) => {
        let data = chunk;
        if (!header.includes("\r\n\r\n")) {
          header += chunk.toString("latin1");
          const end = header.indexOf("\r\n\r\n");
          if (end < 0) return;
          data = chunk.subarray(chunk.length - (header.length - end - 4));
          header = header.slice(0, end + 4);
        }
        hash.update(data);
        body += data.length;
        // Pause now and then: a reader slower than the disk.
        if (Math.random() < 0.02) {
          slow.pause();
          maxAhead = Math.max(maxAhead, readBytes(pid) - read1 - body);
          setTimeout(() => slow.resume(), 20);
        }
      });
    });
    expect(header).toMatch(/^HTTP\/1\.1 200/);
    expect(body).toBe(SIZE);
    expect(hash.digest("hex")).toBe(createHash("sha256").update(readFileSync(file)).digest("hex"));
    // Kernel socket buffers on both ends grow to several MB on loopback: ahead by tens of MB, never the whole file.
    expect(maxAhead, `slow reader: recbot was at most ${(maxAhead / 2 ** 20).toFixed(1)} MiB ahead of it`).toBeLessThan(64 * 2 ** 20);
  });
});
