import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RTCRtpTransceiver } from "werift";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { onPictureLoss } from "../../src/session/pictureLoss.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { clientPeer } from "../../src/testkit/peer.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";

describe("echo mode over /ws", () => {
  let recbot: Recbot;
  let wsUrl: string;
  let clip: Clip;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-echo-"));

  beforeAll(async () => {
    clip = await makeClip({ seconds: 3, gop: 300 }); // one keyframe only: any later one was asked for
    recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn" });
    wsUrl = (await recbot.listen()).replace("http", "ws") + "/ws";
  });
  afterAll(async () => {
    await recbot?.close();
  });

  it("sends the client's own video and audio back, forwards its keyframe requests, and records too", async () => {
    const back = { videoFrames: 0, audioPackets: 0, videoSsrc: 0 };
    let videoTx: RTCRtpTransceiver | undefined;
    let plisToClient = 0;
    let plisBefore = -1;
    const result = await publish({
      url: wsUrl, clip,
      onEcho: (kind, p) => {
        if (kind === "audio") back.audioPackets++;
        else {
          back.videoSsrc = p.header.ssrc;
          if (p.header.marker) back.videoFrames++;
        }
      },
      onConnected: (pc) => {
        videoTx = pc.getTransceivers().find((t) => t.kind === "video");
        onPictureLoss(videoTx!, () => plisToClient++); // werift as a client has the same RTCP routing quirk
      },
      // The client asks for a keyframe on the echoed video; recbot passes it on to the client's sender.
      onSending: () => void setTimeout(() => {
        plisBefore = plisToClient;
        void videoTx!.receiver.sendRtcpPLI(back.videoSsrc);
      }, 1500),
      onSent: () => new Promise((r) => setTimeout(r, 300)), // the last echoed packets are on their way
    });
    expect(result.answerSdp.match(/^a=sendrecv/gm)).toHaveLength(2);
    const sent = result.framesSent;
    expect(back.videoFrames / sent.video).toBeGreaterThanOrEqual(0.98);
    expect(back.audioPackets / sent.audio).toBeGreaterThanOrEqual(0.98);
    expect(plisBefore).toBeGreaterThanOrEqual(0);
    expect(plisToClient).toBeGreaterThan(plisBefore);

    expect(result.finished.state).toBe("finished");
    const p = await probe(path.join(dir, result.finished.file));
    expect(stream(p, "video").codec_name).toBe("vp8");
    expect(Number(stream(p, "video").nb_read_frames) / sent.video).toBeGreaterThanOrEqual(0.98);
    expect(await decodeErrors(path.join(dir, result.finished.file))).toBe("");
  });

  it("refuses echo for a sendonly offer with a reason", async () => {
    const pc = clientPeer();
    pc.addTransceiver("video", { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    const client = new WsClient(wsUrl);
    try {
      await client.opened();
      client.send({ type: "offer", sdp: pc.localDescription!.sdp, mode: "echo" });
      const error = await client.waitFor((m) => m.type === "error");
      expect(error).toMatchObject({ code: "invalid_sdp", message: expect.stringMatching(/sendrecv/) });
      client.send({ type: "offer", sdp: "v=0", mode: "loud" });
      expect(await client.waitFor((m) => m.type === "error" && m.code === "bad_message")).toMatchObject({ message: expect.stringMatching(/mode/) });
    } finally {
      client.close();
      await pc.close();
    }
  });
});
