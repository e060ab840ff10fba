import fc from "fast-check";
import { RtpHeader, RtpPacket, Vp8Packetizer } from "werift";
import { beforeAll, describe, expect, it } from "vitest";
import { makeClip } from "../testkit/clip.ts";
import type { EncodedFrame } from "../testkit/containers.ts";
import { FrameAssembler, type AssembledFrame } from "./frameAssembler.ts";
import type { CodecName } from "./types.ts";

interface Sent {
  frame: number;
  packet: RtpPacket;
}

function collect(codec: CodecName, kind: "audio" | "video") {
  const frames: AssembledFrame[] = [];
  const counts = { dropped: 0, needKeyframe: 0 };
  const assembler = new FrameAssembler(codec, kind, {
    frame: (f) => frames.push(f),
    dropped: () => counts.dropped++,
    needKeyframe: () => counts.needKeyframe++,
  });
  return { assembler, frames, counts };
}

/** Feeds packets in order; a skipped packet shows up as gapBefore on the next one, as the jitter buffer reports it. */
function feed(assembler: FrameAssembler, packets: Sent[], lose: (s: Sent, index: number) => boolean) {
  let gap = 0;
  packets.forEach((s, i) => {
    if (lose(s, i)) {
      gap++;
      return;
    }
    assembler.push(s.packet, gap);
    gap = 0;
  });
  assembler.flush();
}

describe("FrameAssembler (VP8 from werift's Vp8Packetizer)", () => {
  let video: EncodedFrame[];
  let packets: Sent[];
  const firstPacketOf = (frame: number) => packets.findIndex((s) => s.frame === frame);
  const lastPacketOf = (frame: number) => packets.findLastIndex((s) => s.frame === frame);

  beforeAll(async () => {
    // 2 s at 30 fps with a keyframe every 20 frames: frames 0, 20, 40 are keyframes.
    video = (await makeClip({ seconds: 2, gop: 20, videoBitrate: "800k" })).video;
    const vp8 = new Vp8Packetizer({ payloadType: 96, maxPayloadSize: 600, sequenceNumber: 65500 });
    packets = video.flatMap((f, frame) => vp8.packetize(f.data, (0xfffff000 + frame * 3000) >>> 0).map((packet) => ({ frame, packet })));
  });

  it("ignores padding-only packets (a sender probing bandwidth) between and inside frames", () => {
    // libwebrtc probes with padding-only packets on the media SSRC when it estimates bandwidth (abs-send-time):
    // they take a sequence number and a timestamp but carry no media (werift strips the padding: empty payload).
    const padded: RtpPacket[] = [];
    packets.forEach((s, i) => {
      padded.push(s.packet);
      if (i % 3 === 0) {
        const h = s.packet.header;
        padded.push(new RtpPacket(new RtpHeader({ payloadType: h.payloadType, timestamp: (h.timestamp + 1500) >>> 0, marker: false, padding: true, paddingSize: 200 }), Buffer.alloc(0)));
      }
    });
    const { assembler, frames, counts } = collect("vp8", "video");
    for (const p of padded) assembler.push(p, 0);
    assembler.flush();
    expect(frames.map((f) => f.data)).toEqual(video.map((f) => f.data));
    expect(counts).toEqual({ dropped: 0, needKeyframe: 0 });
  });

  it("rebuilds every frame byte for byte when nothing is lost (sequence and timestamps wrap)", () => {
    const { assembler, frames, counts } = collect("vp8", "video");
    feed(assembler, packets, () => false);
    expect(packets.length).toBeGreaterThan(video.length); // keyframes span several packets
    expect(frames.map((f) => f.data)).toEqual(video.map((f) => f.data));
    expect(frames.map((f) => f.keyframe)).toEqual(video.map((f) => f.keyframe));
    expect(counts).toEqual({ dropped: 0, needKeyframe: 0 });
  });

  it.each([
    { name: "a lost packet in the middle of a keyframe drops it and everything up to the next keyframe", lostFrame: 20, which: "middle" as const },
    { name: "a lost first packet of a delta frame drops the frames up to the next keyframe", lostFrame: 5, which: "first" as const },
    { name: "a lost last (marker) packet of a delta frame drops it and the frames up to the next keyframe", lostFrame: 5, which: "last" as const },
  ])("$name", ({ lostFrame, which }) => {
    const first = firstPacketOf(lostFrame);
    const last = lastPacketOf(lostFrame);
    const lostIndex = which === "first" ? first : which === "last" ? last : Math.floor((first + last) / 2);
    if (which === "middle") expect(last - first).toBeGreaterThanOrEqual(2);
    const { assembler, frames, counts } = collect("vp8", "video");
    feed(assembler, packets, (_s, i) => i === lostIndex);
    const nextKey = video.findIndex((f, i) => i > lostFrame && f.keyframe);
    const expected = video.filter((_f, i) => i < lostFrame || i >= nextKey);
    expect(frames.map((f) => f.data)).toEqual(expected.map((f) => f.data));
    expect(counts.dropped).toBe(nextKey - lostFrame);
    expect(counts.needKeyframe).toBeGreaterThan(0);
  });

  it("a stream joined mid-way starts at the next keyframe", () => {
    const { assembler, frames } = collect("vp8", "video");
    const start = firstPacketOf(7);
    feed(assembler, packets.slice(start), () => false);
    expect(frames[0].data).toEqual(video[20].data);
    expect(frames.length).toBe(video.length - 20);
  });

  it("a keyframe cut off at the end of the stream is not written", () => {
    const { assembler, frames } = collect("vp8", "video");
    feed(assembler, packets.slice(0, lastPacketOf(0)), () => false);
    expect(frames).toEqual([]);
  });
});

describe("FrameAssembler with garbage payloads", () => {
  const rtp = (seq: number, timestamp: number, marker: boolean, payload: Uint8Array) =>
    new RtpPacket(new RtpHeader({ sequenceNumber: seq & 0xffff, timestamp, marker, payloadType: 96 }), Buffer.from(payload));

  it.each(["vp8", "vp9", "h264", "av1"] as const)("%s: random payloads never throw and never make a frame", (codec) => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ payload: fc.uint8Array({ maxLength: 300 }), marker: fc.boolean(), newFrame: fc.boolean(), gap: fc.nat(3) }), { maxLength: 60 }),
        (input) => {
          const { assembler, frames } = collect(codec, "video");
          let ts = 1000;
          input.forEach((p, i) => {
            if (p.newFrame) ts += 3000;
            assembler.push(rtp(i, ts, p.marker, p.payload), p.gap);
          });
          assembler.flush();
          expect(frames).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each(["opus", "pcmu", "pcma"] as const)("%s: random payloads never throw", (codec) => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 60 }), (input) => {
        const { assembler } = collect(codec, "audio");
        input.forEach((payload, i) => assembler.push(rtp(i, i * 960, false, payload), 0));
        assembler.flush();
      }),
      { numRuns: 200 },
    );
  });

  it.each([
    { name: "an empty payload", payload: [] },
    { name: "a code 1 packet with an odd length", payload: [0x01, 1, 2, 3] },
    { name: "a code 2 packet whose first frame is longer than the packet", payload: [0x02, 200, 1, 2] },
    { name: "a code 3 packet with zero frames", payload: [0x03, 0x00, 1, 2] },
  ])("opus: $name is not written as a frame", ({ payload }) => {
    const { assembler, frames, counts } = collect("opus", "audio");
    assembler.push(rtp(1, 960, false, Uint8Array.from(payload)), 0);
    expect(frames).toEqual([]);
    expect(counts.dropped).toBe(1);
  });

  it("gives up a frame that grows past its bound, discards the rest of it, asks for a keyframe, and recovers", () => {
    const frames: AssembledFrame[] = [];
    const reasons: string[] = [];
    let needKeyframe = 0;
    const assembler = new FrameAssembler("vp8", "video", {
      frame: (f) => frames.push(f),
      dropped: (reason) => reasons.push(reason),
      needKeyframe: () => needKeyframe++,
    }, { maxFrameBytes: 10_000, maxFramePackets: 100 });
    const body = new Uint8Array(1000);
    for (let i = 0; i < 50; i++) assembler.push(rtp(i, 3000, false, body), 0); // never ends, never marked
    expect(reasons).toEqual(["too_large"]);
    expect(needKeyframe).toBe(1);
    // A real keyframe with the next timestamp is written.
    const vp8Key = Buffer.concat([Buffer.from([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]), Buffer.alloc(20)]);
    assembler.push(rtp(50, 6000, true, vp8Key), 0);
    expect(frames.map((f) => f.rtpTimestamp)).toEqual([6000]);
  });

  it("drops garbage that a decoder would reject without waiting for a keyframe", () => {
    const reasons: string[] = [];
    const frames: AssembledFrame[] = [];
    const assembler = new FrameAssembler("vp8", "video", { frame: (f) => frames.push(f), dropped: (r) => reasons.push(r), needKeyframe: () => {} });
    const key = Buffer.concat([Buffer.from([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]), Buffer.alloc(20)]);
    const delta = Buffer.concat([Buffer.from([0x10, 0x11, 0x02, 0x00]), Buffer.alloc(20)]);
    const garbage = Buffer.concat([Buffer.from([0x10, 0xfe, 0xff, 0xff, 0x9d, 0x01, 0x2a]), Buffer.alloc(20)]); // version 7, huge partition
    assembler.push(rtp(1, 3000, true, key), 0);
    assembler.push(rtp(2, 4500, true, garbage), 0);
    assembler.push(rtp(3, 6000, true, delta), 0);
    expect(reasons).toEqual(["invalid"]);
    expect(frames.map((f) => f.rtpTimestamp)).toEqual([3000, 6000]);
  });
});
