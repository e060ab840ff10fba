import { readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe } from "../../src/testkit/probe.ts";
import { connectRaw, rtp } from "../../src/testkit/rawPeer.ts";
import { serverPerTest } from "../helpers/testServer.ts";

/**
 * A bye overtakes the media sent before it (signaling and media travel apart, and a busy server reads its sockets
 * late): what was sent before the bye must be in the file (src/session/drain.ts).
 */
const { start, closeAfter } = serverPerTest("drain");
let clip: Clip;
beforeAll(async () => {
  clip = await makeClip({ seconds: 5 });
});

describe("bye after a burst of media", () => {
  it("records every packet the client sent before its bye, though the socket still held most of them", async () => {
    const { ws, dir } = await start({ syncWaitMs: 0 });
    const peer = closeAfter(await connectRaw(ws, [{ kind: "audio", stream: "a" }]));
    // One second paced, so the recording has started...
    for (let i = 0; i < 50; i++) {
      await peer.send(0, rtp({ seq: i, ts: 1000 + i * 960, marker: i === 0, payload: clip.audio[i].data }));
      await sleep(20);
    }
    // ...then three seconds in one burst and the bye right behind it, with no turn of the event loop between: the
    // packets wait in recbot's socket (libuv reads 32 datagrams per socket and turn) while the bye is read.
    const burst: Promise<void>[] = [];
    for (let i = 50; i < 200; i++) burst.push(peer.send(0, rtp({ seq: i, ts: 1000 + i * 960, payload: clip.audio[i].data })));
    const finished = peer.hangUp();
    await Promise.all(burst);
    const [meta] = await finished;
    expect(meta?.state).toBe("finished");
    const file = path.join(dir, meta.file);
    const sidecar = JSON.parse(readFileSync(file.replace(/\.webm$/, ".json"), "utf8"));
    const duration = Number((await probe(file)).format.duration);
    const figures = `frames ${sidecar.frames}, packets ${sidecar.trackStats?.[0]?.packets}, file duration ${duration} s`;
    expect(sidecar.frames, figures).toBe(200);
    expect(duration, figures).toBeGreaterThan(3.9);
    expect(await decodeErrors(file)).toBe("");
  });
});
