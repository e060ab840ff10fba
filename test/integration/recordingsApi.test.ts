import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { parseRange } from "../../src/signaling/routes/recordings.ts";
import { makeClip } from "../../src/testkit/clip.ts";
import { publish } from "../../src/testkit/publisher.ts";

describe("parseRange", () => {
  it.each([
    [undefined, 100, undefined],
    ["bytes=0-9", 100, { start: 0, end: 9 }],
    ["bytes=90-", 100, { start: 90, end: 99 }],
    ["bytes=-10", 100, { start: 90, end: 99 }],
    ["bytes=50-500", 100, { start: 50, end: 99 }],
    ["bytes=100-", 100, null],
    ["bytes=9-3", 100, null],
    ["bytes=-", 100, null],
    ["items=0-1", 100, undefined],
    ["bytes=0-1,5-6", 100, undefined],
    ["bytes=0-1, 5-6", 100, undefined],
  ])("%s of %i bytes → %o", (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe("recordings API on real recordings", () => {
  let recbot: Recbot;
  let base: string;
  let dir: string;
  let recording: any;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "recbot-api-"));
    recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: "silent" });
    base = await recbot.listen();
    const result = await publish({ url: base.replace("http", "ws") + "/ws", clip: await makeClip({ seconds: 2 }) });
    recording = result.finished;
  });
  afterAll(async () => {
    await recbot?.close();
  });

  it("lists, filters and pages recordings, and returns one's metadata", async () => {
    const list = (await (await fetch(`${base}/recordings`)).json()) as any;
    expect(list.total).toBe(1);
    expect(list.items[0]).toMatchObject({ id: recording.recordingId, state: "finished", container: "webm" });
    const filtered = (await (await fetch(`${base}/recordings?state=failed`)).json()) as any;
    expect(filtered.total).toBe(0);
    const paged = (await (await fetch(`${base}/recordings?offset=1&limit=1`)).json()) as any;
    expect(paged).toMatchObject({ items: [], total: 1, offset: 1, limit: 1 });
    expect((await fetch(`${base}/recordings?limit=0`)).status).toBe(400);
    const one = (await (await fetch(`${base}/recordings/${recording.recordingId}`)).json()) as any;
    expect(one.durationMs).toBeGreaterThan(1500);
    expect(one.tracks).toEqual([{ kind: "video", codec: "vp8" }, { kind: "audio", codec: "opus" }]);
  });

  it("downloads the file whole and by Range with the right content type", async () => {
    const onDisk = readFileSync(path.join(dir, recording.file));
    const whole = await fetch(`${base}/recordings/${recording.recordingId}/file`);
    expect(whole.headers.get("content-type")).toBe("video/webm");
    expect(Buffer.from(await whole.arrayBuffer()).equals(onDisk)).toBe(true);
    const part = await fetch(`${base}/recordings/${recording.recordingId}/file`, { headers: { range: "bytes=4-103" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 4-103/${onDisk.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(onDisk.subarray(4, 104))).toBe(true);
    const bad = await fetch(`${base}/recordings/${recording.recordingId}/file`, { headers: { range: `bytes=${onDisk.length}-` } });
    expect(bad.status).toBe(416);
  });

  it.each([
    "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "rec_..%2F..%2Fpasswd", "rec_x%00.json",
    "rec_%2e%2e", "..%252F..%252Fetc", "rec_abc/../../x",
  ])("never leaves the recordings dir: %s", async (id) => {
    for (const suffix of ["", "/file"]) {
      const res = await fetch(`${base}/recordings/${id}${suffix}`);
      expect([400, 404]).toContain(res.status);
      expect(await res.text()).not.toContain("root:");
    }
    expect([400, 404]).toContain((await fetch(`${base}/recordings/${id}`, { method: "DELETE" })).status);
  });

  it("serves an OpenAPI document at /docs", async () => {
    const doc = (await (await fetch(`${base}/docs/json`)).json()) as any;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/recordings", "/recordings/{id}", "/recordings/{id}/file"]));
  });

  it("marks a recording left open by a crash as interrupted on start-up, and deletes recordings", async () => {
    const crashed = { ...JSON.parse(readFileSync(path.join(dir, recording.file.replace(/\.webm$/, ".json")), "utf8")), id: "rec_crashed_1", state: "recording" };
    crashed.file = path.join(dir, "rec_crashed_1.webm");
    copyFileSync(path.join(dir, recording.file), crashed.file);
    writeFileSync(path.join(dir, "rec_crashed_1.json"), JSON.stringify(crashed));
    const second = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, logLevel: "silent" });
    try {
      const url = await second.listen();
      const meta = (await (await fetch(`${url}/recordings/rec_crashed_1`)).json()) as any;
      expect(meta.state).toBe("interrupted");
      expect(JSON.parse(readFileSync(path.join(dir, "rec_crashed_1.json"), "utf8")).state).toBe("interrupted");
      expect((await fetch(`${url}/recordings/rec_crashed_1`, { method: "DELETE" })).status).toBe(204);
      expect((await fetch(`${url}/recordings/rec_crashed_1`)).status).toBe(404);
      expect((await fetch(`${url}/recordings/rec_crashed_1`, { method: "DELETE" })).status).toBe(404);
    } finally {
      await second.close();
    }
  });
});
