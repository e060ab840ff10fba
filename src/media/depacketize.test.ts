import fc from "fast-check";
import { dePacketizeRtpPackets, RtpHeader, RtpPacket } from "werift";
import { describe, expect, it } from "vitest";
import { depacketize, vp8DescriptorLength } from "./depacketize.ts";

const packet = (payload: Buffer, seq = 1) => new RtpPacket(new RtpHeader({ sequenceNumber: seq, timestamp: 3000, payloadType: 96 }), payload);

/** A VP8 payload descriptor (RFC 7741 4.2) with the given optional fields, then `body`. */
function vp8Payload(o: { start: boolean; pid: number; pictureId?: number; long?: boolean; tl0?: boolean; tid?: boolean; keyIdx?: boolean }, body: Buffer): Buffer {
  const x = o.pictureId !== undefined || o.tl0 || o.tid || o.keyIdx;
  const bytes = [(x ? 0x80 : 0) | (o.start ? 0x10 : 0) | (o.pid & 7)];
  if (x) {
    bytes.push((o.pictureId !== undefined ? 0x80 : 0) | (o.tl0 ? 0x40 : 0) | (o.tid ? 0x20 : 0) | (o.keyIdx ? 0x10 : 0));
    if (o.pictureId !== undefined) {
      if (o.long) bytes.push(0x80 | ((o.pictureId >> 8) & 0x7f), o.pictureId & 0xff);
      else bytes.push(o.pictureId & 0x7f);
    }
    if (o.tl0) bytes.push(7);
    if (o.tid || o.keyIdx) bytes.push(0x40);
  }
  return Buffer.concat([Buffer.from(bytes), body]);
}

// Valid descriptors: T is set whenever L is (RFC 7741 4.2). werift skips the TID/KEYIDX byte only when L or K is set,
// so a descriptor with T alone is tested against the RFC below, not against werift.
const descriptor = fc
  .record({
    start: fc.boolean(),
    pid: fc.integer({ min: 0, max: 7 }),
    pictureId: fc.option(fc.integer({ min: 0, max: 0x7fff }), { nil: undefined }),
    long: fc.boolean(),
    tl0: fc.boolean(),
    keyIdx: fc.boolean(),
  })
  .map((d) => ({ ...d, tid: d.tl0 }));

describe("depacketize", () => {
  it("VP8: the same frame and keyframe flag as werift's depacketizer, for every descriptor shape (RFC 7741)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(descriptor, fc.uint8Array({ minLength: 1, maxLength: 40 })), { minLength: 1, maxLength: 6 }), (parts) => {
        const packets = parts.map(([d, body], i) => packet(vp8Payload(d, Buffer.from(body)), i));
        const ours = depacketize("vp8", packets);
        const werift = dePacketizeRtpPackets("VP8", packets);
        expect(ours.data.equals(werift.data)).toBe(true);
        expect(ours.isKeyframe).toBe(werift.isKeyframe);
      }),
      { numRuns: 3000 },
    );
  });

  it("VP8: a keyframe is the P bit clear in the first partition's payload header, and only there", () => {
    const key = Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]); // P = 0
    const delta = Buffer.from([0x11, 0x02, 0x00]); // P = 1
    expect(depacketize("vp8", [packet(vp8Payload({ start: true, pid: 0, pictureId: 300, long: true }, key))]).isKeyframe).toBe(true);
    expect(depacketize("vp8", [packet(vp8Payload({ start: true, pid: 0, pictureId: 300, long: true }, delta))]).isKeyframe).toBe(false);
    // Not a partition start, or another partition: no payload header there.
    expect(depacketize("vp8", [packet(vp8Payload({ start: false, pid: 0 }, key))]).isKeyframe).toBe(false);
    expect(depacketize("vp8", [packet(vp8Payload({ start: true, pid: 1 }, key))]).isKeyframe).toBe(false);
    expect(vp8DescriptorLength(vp8Payload({ start: true, pid: 0, pictureId: 5, long: true, tl0: true, tid: true }, key))).toBe(6);
  });

  it("VP8: a TID byte without TL0PICIDX is skipped too (T alone; werift keeps it in the frame)", () => {
    const body = Buffer.from([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]);
    const tOnly = vp8Payload({ start: true, pid: 0, pictureId: 9, tid: true }, body);
    expect(vp8DescriptorLength(tOnly)).toBe(4);
    expect(depacketize("vp8", [packet(tOnly)]).data.equals(body)).toBe(true);
    expect(dePacketizeRtpPackets("VP8", [packet(tOnly)]).data.equals(body)).toBe(false);
  });

  it("VP8: a descriptor longer than its packet contributes nothing (werift would read past it)", () => {
    const truncated = Buffer.from([0x90, 0x80]); // X and I set, the picture id missing
    const out = depacketize("vp8", [packet(truncated), packet(vp8Payload({ start: false, pid: 0 }, Buffer.from([1, 2, 3])), 2)]);
    expect([...out.data]).toEqual([1, 2, 3]);
    expect(out.isKeyframe).toBe(false);
  });

  it("audio: one packet is the frame itself, not a copy; several are joined", () => {
    const opus = Buffer.from([0x78, 1, 2, 3]);
    const single = depacketize("opus", [packet(opus)]);
    expect(single.data).toBe(opus);
    expect(single.isKeyframe).toBe(true);
    for (const codec of ["pcmu", "pcma"] as const) {
      expect([...depacketize(codec, [packet(Buffer.from([1, 2])), packet(Buffer.from([3]), 2)]).data]).toEqual([1, 2, 3]);
    }
  });
});
