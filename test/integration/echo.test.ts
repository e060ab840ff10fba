import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaStream, MediaStreamTrack, type RtpPacket } from "werift";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { onPictureLoss } from "../../src/session/pictureLoss.ts";
import { makeClip, type Clip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { clientPeer, waitConnected } from "../../src/testkit/peer.ts";
import { sendClip } from "../../src/testkit/pacer.ts";
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
    const pc = clientPeer();
    const video = new MediaStreamTrack({ kind: "video" });
    const audio = new MediaStreamTrack({ kind: "audio" });
    const ms = new MediaStream([video, audio]);
    const videoTx = pc.addTransceiver(video, { direction: "sendrecv", streams: [ms] });
    pc.addTransceiver(audio, { direction: "sendrecv", streams: [ms] });
    const back = { videoFrames: 0, audioPackets: 0, videoSsrc: 0 };
    pc.ontrack = ({ track }) =>
      track.onReceiveRtp.subscribe((p: RtpPacket) => {
        if (track.kind === "audio") back.audioPackets++;
        else {
          back.videoSsrc = p.header.ssrc;
          if (p.header.marker) back.videoFrames++;
        }
      });
    let plisToClient = 0;
    onPictureLoss(videoTx, () => plisToClient++); // werift as a client has the same RTCP routing quirk

    const client = new WsClient(wsUrl);
    try {
      await client.opened();
      client.socket.on("message", (raw) => {
        const m = JSON.parse(raw.toString());
        if (m.type === "candidate" && m.candidate) void pc.addIceCandidate(m.candidate).catch(() => {});
      });
      pc.onIceCandidate.subscribe((c) => client.send({ type: "candidate", candidate: c ? c.toJSON() : null }));
      await pc.setLocalDescription(await pc.createOffer());
      client.send({ type: "offer", sdp: pc.localDescription!.sdp, mode: "echo" });
      const answer = await client.waitFor((m) => m.type === "answer" || m.type === "error");
      expect(answer.type).toBe("answer");
      expect(answer.sdp.match(/^a=sendrecv/gm)).toHaveLength(2);
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      await waitConnected(pc);

      let plisBefore = -1;
      const sending = sendClip(clip, clip.seconds, video, audio);
      await new Promise((r) => setTimeout(r, 1500));
      // The client asks for a keyframe on the echoed video; recbot passes it on to the client's sender.
      plisBefore = plisToClient;
      await videoTx.receiver.sendRtcpPLI(back.videoSsrc);
      const sent = await sending;
      await new Promise((r) => setTimeout(r, 300));

      client.send({ type: "bye" });
      const finished = await client.waitFor((m) => m.type === "recording" && m.state !== "started", 30_000);
      expect(back.videoFrames / sent.video).toBeGreaterThanOrEqual(0.98);
      expect(back.audioPackets / sent.audio).toBeGreaterThanOrEqual(0.98);
      expect(plisToClient).toBeGreaterThan(plisBefore);

      expect(finished.state).toBe("finished");
      const p = await probe(finished.file);
      expect(stream(p, "video").codec_name).toBe("vp8");
      expect(Number(stream(p, "video").nb_read_frames) / sent.video).toBeGreaterThanOrEqual(0.98);
      expect(await decodeErrors(finished.file)).toBe("");
    } finally {
      client.close();
      await pc.close();
    }
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
