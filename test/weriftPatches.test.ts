// recbot carries patches to werift's receive hot path (patches/werift+*.patch, applied by patch-package on
// `npm install`/`npm ci`; docs/werift-patches.md). These tests check that the installed werift is the patched
// one and that the patched code still does what RFC 3550/3711/7741 say, so a werift upgrade that drops or
// changes a patch fails here instead of silently costing CPU or corrupting media.
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import {
  Event,
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  RtcpHeader,
  RtpHeader,
  RtpPacket,
  RTCDtlsTransport,
  RTCRtpReceiver,
  RTP_EXTENSION_URI,
  rtpHeaderExtensionsParser,
  SrtcpSession,
  SrtpSession,
  TurnProtocol,
  Vp8RtpPayload,
  getBit,
} from "werift";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** The string-based getBit werift shipped: bit 0 is the most significant bit of a byte. */
function referenceGetBit(bits: number, start: number, length = 1): number {
  return Number.parseInt(bits.toString(2).padStart(8, "0").slice(start, start + length), 2);
}

function session(masterKey: Buffer, masterSalt: Buffer, profile: number = ProtectionProfileAes128CmHmacSha1_80) {
  const keys = { localMasterKey: masterKey, localMasterSalt: masterSalt, remoteMasterKey: masterKey, remoteMasterSalt: masterSalt };
  return new SrtpSession({ keys, profile });
}

/** SRTP per RFC 3711 written plainly (a new AES-CTR cipher and HMAC per packet), to cross-check the patched code. */
function referenceSrtp(sessionKey: Buffer, sessionSalt: Buffer, authKey: Buffer) {
  const iv = (ssrc: number, roc: number, seq: number) => {
    const counter = Buffer.alloc(16);
    counter.writeUInt32BE(ssrc, 4);
    counter.writeUInt32BE(roc, 8);
    counter.writeUInt32BE(seq * 65536, 12);
    for (let i = 0; i < 14; i++) counter[i]! ^= sessionSalt[i]!;
    return counter;
  };
  const tag = (authenticated: Buffer, roc: number) => {
    const rocBytes = Buffer.alloc(4);
    rocBytes.writeUInt32BE(roc);
    return createHmac("sha1", authKey).update(authenticated).update(rocBytes).digest().subarray(0, 10);
  };
  return {
    protect(plain: Buffer, headerLength: number, roc = 0): Buffer {
      const header = plain.subarray(0, headerLength);
      const ctr = createCipheriv("aes-128-ctr", sessionKey, iv(plain.readUInt32BE(8), roc, plain.readUInt16BE(2)));
      const body = Buffer.concat([header, ctr.update(plain.subarray(headerLength))]);
      return Buffer.concat([body, tag(body, roc)]);
    },
  };
}

describe("werift patches are applied", () => {
  it("getBit is the arithmetic version, not the binary-string one", () => {
    expect(getBit.toString()).not.toContain("toString(2)");
  });

  it("Event.execute allocates no promise when nothing subscribed asynchronously", () => {
    expect(new Event().execute.toString()).toContain("promiseStack.length === 0");
  });

  it("SRTP AES-CM uses a reused keystream cipher and KeyObject HMAC keys", () => {
    const cipher = (session(randomBytes(16), randomBytes(14)).remoteContext as any).cipher;
    expect(cipher.srtpKeystream?.ecb).toBeDefined();
    expect(cipher.srtpAuthKey?.type).toBe("secret");
    expect(cipher.decryptRtp.toString()).not.toContain("createDecipheriv");
  });

  it("SRTP AEAD_AES_128_GCM writes its IV in place and the receiver sorts its codecs once", () => {
    const cipher = (session(randomBytes(16), randomBytes(12), ProtectionProfileAeadAes128Gcm).remoteContext as any).cipher;
    expect(cipher.rtpIv?.length).toBe(12);
    expect(cipher.decryptRtp.toString()).not.toContain("growBufferSize");
    const receiver = Object.getOwnPropertyDescriptor(RTCRtpReceiver.prototype, "codecArray")!.get!.toString();
    expect(receiver).toContain("codecArrayCache");
  });

  it("the DTLS transport keeps media that arrives before its SRTP keys", () => {
    expect(RTCDtlsTransport.prototype.startSrtp.toString()).toContain("earlyMedia");
  });

  it("the CommonJS build carries the same patches", () => {
    const require = createRequire(import.meta.url);
    const cjs = require("werift");
    expect(cjs.getBit.toString()).not.toContain("toString(2)");
    const cipher = new cjs.SrtpSession({
      keys: { localMasterKey: randomBytes(16), localMasterSalt: randomBytes(14), remoteMasterKey: randomBytes(16), remoteMasterSalt: randomBytes(14) },
      profile: ProtectionProfileAes128CmHmacSha1_80,
    }).remoteContext.cipher;
    expect(cipher.srtpKeystream?.ecb).toBeDefined();
    const gcm = new cjs.SrtpSession({
      keys: { localMasterKey: randomBytes(16), localMasterSalt: randomBytes(12), remoteMasterKey: randomBytes(16), remoteMasterSalt: randomBytes(12) },
      profile: ProtectionProfileAeadAes128Gcm,
    }).remoteContext.cipher;
    expect(gcm.decryptRtp.toString()).not.toContain("growBufferSize");
    expect(Object.getOwnPropertyDescriptor(cjs.RTCRtpReceiver.prototype, "codecArray")!.get!.toString()).toContain("codecArrayCache");
    expect(cjs.RTCDtlsTransport.prototype.startSrtp.toString()).toContain("earlyMedia");
  });
});

describe("patched bit parsing", () => {
  it("getBit equals the original string-based result for every byte, start and length", () => {
    for (let byte = 0; byte < 256; byte++)
      for (let start = 0; start < 8; start++)
        for (let length = 1; start + length <= 8; length++)
          expect(getBit(byte, start, length)).toBe(referenceGetBit(byte, start, length));
  });

  it("RTP header: fields, CSRCs, one-byte extensions, padding (RFC 3550, RFC 8285)", () => {
    const packet = hex(`
      b2 e0 ff fe  12 34 56 78  de ad be ef
      00 00 00 01  00 00 00 02
      be de 00 02  10 aa 21 bb cc 00 00 00
      01 02 03 04 05  00 00 03`);
    const header = RtpHeader.deSerialize(packet);
    expect(header).toMatchObject({
      version: 2, padding: true, extension: true, csrcLength: 2, marker: true, payloadType: 96,
      sequenceNumber: 0xfffe, timestamp: 0x12345678, ssrc: 0xdeadbeef, csrc: [1, 2],
      extensionProfile: 0xbede, extensionLength: 8, payloadOffset: 32, paddingSize: 3,
    });
    expect(header.extensions.map((e) => [e.id, e.payload.toString("hex")])).toEqual([[1, "aa"], [2, "bbcc"]]);
    const rtp = RtpPacket.deSerialize(packet);
    expect(rtp.payload.toString("hex")).toBe("0102030405");
  });

  it("RTP header: two-byte extensions and a serialize round trip", () => {
    const original = new RtpHeader({
      payloadType: 111, sequenceNumber: 7, timestamp: 960, ssrc: 42, marker: false, extensionProfile: 0x1000,
      extensions: [{ id: 1, payload: Buffer.from("abcdef", "hex") }, { id: 20, payload: Buffer.from("01", "hex") }],
    });
    const bytes = Buffer.concat([original.serialize(original.serializeSize), Buffer.from([9, 9])]);
    const parsed = RtpHeader.deSerialize(bytes);
    expect(parsed).toMatchObject({ version: 2, padding: false, marker: false, payloadType: 111, sequenceNumber: 7, timestamp: 960, ssrc: 42, csrc: [] });
    expect(parsed.extensions.map((e) => [e.id, e.payload.toString("hex")])).toEqual([[1, "abcdef"], [20, "01"]]);
    expect(bytes.subarray(parsed.payloadOffset).toString("hex")).toBe("0909");
  });

  it("truncated RTP headers still throw", () => {
    expect(() => RtpHeader.deSerialize(hex("80 60 00 01 00 00"))).toThrow(RangeError);
    expect(() => RtpHeader.deSerialize(hex("83 60 00 01 00 00 00 00 00 00 00 01 00 00 00 02"))).toThrow(RangeError);
  });

  it("RTCP header (RFC 3550 6.4.1)", () => {
    expect(RtcpHeader.deSerialize(hex("a1 c8 00 06"))).toMatchObject({ version: 2, padding: true, count: 1, type: 200, length: 6 });
    expect(() => RtcpHeader.deSerialize(hex("81 c8"))).toThrow(RangeError);
  });

  it("VP8 payload descriptor with a 15-bit picture id (RFC 7741 4.2)", () => {
    const p = Vp8RtpPayload.deSerialize(hex("90 80 d2 34 10 02 00 9d 01 2a"));
    expect(p).toMatchObject({ xBit: 1, sBit: 1, pid: 0, iBit: 1, mBit: 1, pictureId: 0x5234 });
    expect(p.payload.toString("hex")).toBe("1002009d012a");
    expect(Vp8RtpPayload.deSerialize(hex("90 80 7f 10")).pictureId).toBe(0x7f);
  });
});

describe("patched SRTP (AES_CM_128_HMAC_SHA1_80)", () => {
  it("derives session keys per RFC 3711 B.3", () => {
    const ctx = session(hex("E1F97A0D3E018BE0D64FA32C06DE4139"), hex("0EC675AD498AFEEBB6960B3AABE6")).remoteContext as any;
    expect(ctx.srtpSessionKey.toString("hex")).toBe("c61e7a93744f39ee10734afe3ff7a087");
    expect(ctx.srtpSessionSalt.toString("hex")).toBe("30cbbc08863d8c85d49db34a9ae1");
    expect(ctx.srtpSessionAuthTag.toString("hex")).toBe("cebe321f6ff7716b6fd4ab49af256a156d38baa4");
  });

  it("produces the AES-CM keystream of RFC 3711 B.2", () => {
    const CipherAesCtr = (session(randomBytes(16), randomBytes(14)).remoteContext as any).cipher.constructor;
    const cipher = new CipherAesCtr(
      hex("2B7E151628AED2A6ABF7158809CF4F3C"), hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"),
      randomBytes(16), randomBytes(14), randomBytes(20), randomBytes(20),
    );
    const blocks = 0xff02;
    const header = new RtpHeader({ sequenceNumber: 0, ssrc: 0, timestamp: 0, payloadType: 96 });
    const out: Buffer = cipher.encryptRtp(header, Buffer.alloc(blocks * 16), 0);
    const keystream = out.subarray(12, 12 + blocks * 16);
    const block = (i: number) => keystream.subarray(i * 16, i * 16 + 16).toString("hex").toUpperCase();
    expect(block(0)).toBe("E03EAD0935C95E80E166B16DD92B4EB4");
    expect(block(1)).toBe("D23513162B02D0F72A43A2FE4A5F97AB");
    expect(block(2)).toBe("41E95B3BB0A2E8DD477901E4FCA894C0");
    expect(block(0xfeff)).toBe("EC8CDF7398607CB0F2D21675EA9EA1E4");
    expect(block(0xff00)).toBe("362B7C3C6773516318A077D7FC5073AE");
    expect(block(0xff01)).toBe("6A2CC3787889374FBEB4C81B17BA6C44");
  });

  it("decrypts what a plain RFC 3711 implementation protects, and the reverse, across a rollover", () => {
    const s = session(randomBytes(16), randomBytes(14));
    const ctx = s.remoteContext as any;
    const reference = referenceSrtp(ctx.srtpSessionKey, ctx.srtpSessionSalt, ctx.srtpSessionAuthTag);
    let roc = 0;
    for (let i = 0; i < 40; i++) {
      const seq = (65_520 + i) & 0xffff;
      if (seq === 0) roc++;
      const header = new RtpHeader({ payloadType: 96, sequenceNumber: seq, timestamp: i * 3000, ssrc: 0x1234, marker: i % 3 === 0,
        extensions: i % 2 ? [{ id: 3, payload: Buffer.from([i, i + 1]) }] : [] });
      const headerBytes = header.serialize(header.serializeSize);
      const payload = randomBytes(1 + ((i * 97) % 1300));
      const plain = Buffer.concat([headerBytes, payload]);
      const wire = reference.protect(plain, headerBytes.length, roc);
      expect(s.decrypt(wire).equals(plain)).toBe(true);
    }
    // Patched encrypt → reference bytes (the sender side uses the same code).
    const tx = session(hex("E1F97A0D3E018BE0D64FA32C06DE4139"), hex("0EC675AD498AFEEBB6960B3AABE6"));
    const txCtx = tx.localContext as any;
    const ref = referenceSrtp(txCtx.srtpSessionKey, txCtx.srtpSessionSalt, txCtx.srtpSessionAuthTag);
    const header = new RtpHeader({ payloadType: 111, sequenceNumber: 100, timestamp: 960, ssrc: 77 });
    const payload = randomBytes(77);
    const headerBytes = header.serialize(header.serializeSize);
    expect(tx.encrypt(payload, header).equals(ref.protect(Buffer.concat([headerBytes, payload]), headerBytes.length))).toBe(true);
  });

  it("rejects a tampered packet and keeps its rollover state", () => {
    const tx = session(hex("00112233445566778899aabbccddeeff"), hex("0102030405060708090a0b0c0d0e"));
    const rx = session(hex("00112233445566778899aabbccddeeff"), hex("0102030405060708090a0b0c0d0e"));
    const packet = (seq: number) => tx.encrypt(randomBytes(200), new RtpHeader({ payloadType: 96, sequenceNumber: seq, timestamp: seq, ssrc: 5 }));
    expect(rx.decrypt(packet(1)).length).toBe(212);
    const bad = packet(2);
    bad[40]! ^= 1;
    expect(() => rx.decrypt(bad)).toThrow(/authenticate/);
    expect(rx.decrypt(packet(3)).length).toBe(212);
  });

  it("SRTCP round trip through the patched keystream", () => {
    const tx = session(hex("00112233445566778899aabbccddeeff"), hex("0102030405060708090a0b0c0d0e"));
    const rx = session(hex("00112233445566778899aabbccddeeff"), hex("0102030405060708090a0b0c0d0e"));
    const rtcp = hex("80 c8 00 06 00 00 00 05 e0 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 02");
    const txCipher = (tx.localContext as any).cipher;
    const rxCipher = (rx.remoteContext as any).cipher;
    const enc: Buffer = txCipher.encryptRTCP(rtcp, 1);
    expect(enc.subarray(8, rtcp.length).equals(rtcp.subarray(8))).toBe(false);
    const [dec] = rxCipher.decryptRTCP(enc);
    expect(dec.equals(rtcp)).toBe(true);
  });
});

/** werift's receiver NACK handler (not exported: reached through a receiver), with a transport that sends nothing. */
function nackHandler(Receiver: typeof RTCRtpReceiver) {
  const NackHandler = (new (Receiver as any)({}, "video", 1).nack as { constructor: new (receiver: object) => any }).constructor;
  const handler = new NackHandler({ rtcpSsrc: 1, dtlsTransport: { sendRtcp: async () => {} } });
  let marked = 0;
  const setLost = handler.setLost.bind(handler);
  handler.setLost = (seq: number, count: number) => {
    marked++;
    setLost(seq, count);
  };
  const packet = (sequenceNumber: number) => ({ header: { sequenceNumber, ssrc: 5 } });
  return { handler, packet, marked: () => marked };
}

describe("patched NACK handler (a sequence jump costs at most LOST_SIZE steps)", () => {
  for (const [build, Receiver] of [["ESM", RTCRtpReceiver], ["CommonJS", createRequire(import.meta.url)("werift").RTCRtpReceiver]] as const) {
    it(`${build}: a 30,000-packet jump marks only the newest 150 as lost, as the unpatched handler kept after pruning`, () => {
      const { handler, packet, marked } = nackHandler(Receiver);
      try {
        handler.addPacket(packet(100));
        handler.addPacket(packet(101));
        handler.addPacket(packet(104)); // a small gap: 102 and 103 lost, as before
        expect(handler.lostSeqNumbers).toEqual([102, 103]);
        handler.addPacket(packet(30_104));
        // Unpatched: 30,002 setLost calls (one per missing sequence number), then pruned to the newest 150.
        expect(marked()).toBeLessThanOrEqual(2 + 150);
        const lost: number[] = handler.lostSeqNumbers;
        expect(lost.length).toBe(150);
        expect(Math.min(...lost)).toBe(30_104 - 150);
        expect(Math.max(...lost)).toBe(30_103);
        handler.addPacket(packet(30_000)); // a lost one arriving late is no longer lost
        expect(handler.lostSeqNumbers).not.toContain(30_000);
      } finally {
        handler.close();
      }
    });
  }
});

describe("patched SRTP (AEAD_AES_128_GCM, RFC 7714)", () => {
  it("decrypts what a plain RFC 7714 implementation protects, and rejects a tampered packet", () => {
    const s = session(randomBytes(16), randomBytes(12), ProtectionProfileAeadAes128Gcm);
    const ctx = s.remoteContext as any;
    const key: Buffer = ctx.srtpSessionKey;
    const salt: Buffer = ctx.srtpSessionSalt;
    const protect = (plain: Buffer, headerLength: number, roc: number) => {
      // RFC 7714 8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt; AAD = the RTP header; 16-byte tag
      const iv = Buffer.alloc(12);
      iv.writeUInt32BE(plain.readUInt32BE(8), 2);
      iv.writeUInt32BE(roc, 6);
      iv.writeUInt16BE(plain.readUInt16BE(2), 10);
      for (let i = 0; i < 12; i++) iv[i]! ^= salt[i]!;
      const gcm = createCipheriv("aes-128-gcm", key, iv);
      gcm.setAAD(plain.subarray(0, headerLength));
      const body = Buffer.concat([gcm.update(plain.subarray(headerLength)), gcm.final()]);
      return Buffer.concat([plain.subarray(0, headerLength), body, gcm.getAuthTag()]);
    };
    let roc = 0;
    for (let i = 0; i < 30; i++) {
      const seq = (65_530 + i) & 0xffff;
      if (seq === 0) roc++;
      const header = new RtpHeader({ payloadType: 111, sequenceNumber: seq, timestamp: i * 960, ssrc: 0xabcdef,
        extensions: i % 2 ? [{ id: 1, payload: Buffer.from([i]) }] : [] });
      const headerBytes = header.serialize(header.serializeSize);
      const plain = Buffer.concat([headerBytes, randomBytes(1 + ((i * 131) % 1200))]);
      expect(s.decrypt(protect(plain, headerBytes.length, roc)).equals(plain)).toBe(true);
    }
    const header = new RtpHeader({ payloadType: 111, sequenceNumber: 40, timestamp: 0, ssrc: 0xabcdef });
    const headerBytes = header.serialize(header.serializeSize);
    const bad = protect(Buffer.concat([headerBytes, randomBytes(100)]), headerBytes.length, roc);
    bad[20]! ^= 1;
    expect(() => s.decrypt(bad)).toThrow(/authenticate/);
  });
});

describe("every install applies the patches", () => {
  it("npm install runs patch-package, and the Docker image's install applies the patches too", async () => {
    const { readFileSync } = await import("node:fs");
    const root = new URL("..", import.meta.url);
    const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
    expect(pkg.scripts.postinstall).toMatch(/^patch-package --error-on-fail/);
    expect(pkg.dependencies["patch-package"]).toBeDefined(); // also present with --omit=dev
    const dockerfile = readFileSync(new URL("Dockerfile", root), "utf8");
    // The image's npm ci sees patches/ and runs the postinstall (or, with --ignore-scripts, runs patch-package itself).
    const copyAt = dockerfile.indexOf("COPY patches");
    const ciAt = dockerfile.indexOf("npm ci --");
    expect(copyAt).toBeGreaterThan(-1);
    expect(copyAt).toBeLessThan(ciAt);
    const ignoresScripts = /npm ci[^\n]*--ignore-scripts/.test(dockerfile);
    expect(!ignoresScripts || /patch-package --error-on-fail/.test(dockerfile)).toBe(true);
    const werift = JSON.parse(readFileSync(new URL("node_modules/werift/package.json", root), "utf8"));
    const patch = readFileSync(new URL(`patches/werift+${werift.version}.patch`, root), "utf8");
    expect(patch).toContain("AesCmKeystream");
    expect(patch).toContain("earlyMedia");
  });
});

/** SRTP keys as werift's DTLS layer hands them over (local = remote here: one session protects, the other reads). */
function fakeDtls(key: Buffer, salt: Buffer) {
  return {
    srtp: { srtpProfile: ProtectionProfileAes128CmHmacSha1_80 },
    extractSessionKeys: () => ({ localKey: key, localSalt: salt, remoteKey: key, remoteSalt: salt }),
  };
}

describe("media that arrives before the SRTP keys (docs/turn.md: recbot relayed over TCP)", () => {
  // The peer sends media once its own side of DTLS is done. Over TURN/TCP one read can carry our last DTLS flight and
  // the first SRTP packets; they are handled synchronously, before the handshake's continuation installs the keys.
  // werift 0.25.2 as published dropped those packets: the first keyframe's, which NACK never asks for again.
  it("SRTP and SRTCP received before startSrtp are decrypted, in order, once the keys are in place", () => {
    const key = randomBytes(16);
    const salt = randomBytes(14);
    const onData = new Event<[Buffer]>();
    const transport = new RTCDtlsTransport({} as any, { connection: { onData } } as any, undefined, [ProtectionProfileAes128CmHmacSha1_80]);
    const rtp: number[] = [];
    const rtcp: string[] = [];
    transport.onRtp.subscribe((p) => rtp.push(p.header.sequenceNumber));
    transport.onRtcp.subscribe((p) => rtcp.push(p.type.toString()));

    const sender = session(key, salt);
    const srtcp = new SrtcpSession({ keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt }, profile: ProtectionProfileAes128CmHmacSha1_80 });
    const packet = (seq: number) => sender.encrypt(randomBytes(1100), new RtpHeader({ payloadType: 97, sequenceNumber: seq, timestamp: 3000, ssrc: 1234, marker: seq === 3 }));
    // An RTCP receiver report (PT 201) with no report blocks.
    const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0x04, 0xd2]);

    onData.execute(Buffer.from([22, 0xfe, 0xfd])); // a DTLS record: not media, not kept
    for (const seq of [1, 2]) onData.execute(packet(seq));
    onData.execute(srtcp.encrypt(rr));
    onData.execute(packet(3));
    expect(rtp).toEqual([]);

    (transport as any).dtls = fakeDtls(key, salt);
    transport.startSrtp();
    expect(rtp).toEqual([1, 2, 3]);
    expect(rtcp).toEqual(["201"]);
    onData.execute(packet(4));
    expect(rtp).toEqual([1, 2, 3, 4]);
    expect((transport as any).earlyMedia).toEqual([]);
    expect(onData.length).toBe(1); // only the SRTP handler is left subscribed
  });

  it("keeps at most 512 packets", () => {
    const key = randomBytes(16);
    const salt = randomBytes(14);
    const onData = new Event<[Buffer]>();
    const transport = new RTCDtlsTransport({} as any, { connection: { onData } } as any, undefined, [ProtectionProfileAes128CmHmacSha1_80]);
    const sender = session(key, salt);
    const rtp: number[] = [];
    transport.onRtp.subscribe((p) => rtp.push(p.header.sequenceNumber));
    for (let seq = 0; seq < 600; seq++) onData.execute(sender.encrypt(randomBytes(100), new RtpHeader({ payloadType: 97, sequenceNumber: seq, timestamp: 0, ssrc: 1 })));
    (transport as any).dtls = fakeDtls(key, salt);
    transport.startSrtp();
    expect(rtp).toEqual([...Array(512).keys()]);
  });
});

describe("TURN over TCP framing (RFC 5766 11.5; checked while diagnosing the TCP relay loss, werift was right)", () => {
  it("ChannelData padded to 4 bytes and STUN messages, coalesced and split at every byte, come out whole and in order", () => {
    const peer: [string, number] = ["127.0.0.1", 40000];
    const channel = (n: number, size: number) => {
      const frame = Buffer.alloc(4 + size + ((4 - (size % 4)) % 4)); // padding bytes are zero
      frame.writeUInt16BE(0x4000, 0);
      frame.writeUInt16BE(size, 2);
      frame.fill(n, 4, 4 + size);
      return frame;
    };
    // A Data indication (method 0x007, class indication) carrying XOR-PEER-ADDRESS and DATA, built by hand.
    const indication = (n: number, size: number) => {
      const xorPort = 40000 ^ 0x2112;
      const xorIp = Buffer.from([127 ^ 0x21, 0 ^ 0x12, 0 ^ 0xa4, 1 ^ 0x42]);
      const peerAttr = Buffer.concat([Buffer.from([0x00, 0x12, 0x00, 0x08, 0x00, 0x01, xorPort >> 8, xorPort & 0xff]), xorIp]);
      const pad = (4 - (size % 4)) % 4;
      const dataAttr = Buffer.concat([Buffer.from([0x00, 0x13, size >> 8, size & 0xff]), Buffer.alloc(size, n), Buffer.alloc(pad)]);
      const body = Buffer.concat([peerAttr, dataAttr]);
      const header = Buffer.alloc(20);
      header.writeUInt16BE(0x0017, 0);
      header.writeUInt16BE(body.length, 2);
      header.writeUInt32BE(0x2112a442, 4);
      randomBytes(12).copy(header, 8);
      return Buffer.concat([header, body]);
    };
    const sizes = [1101, 1200, 13, 1, 4, 1163, 202];
    const frames = sizes.map((size, i) => (i === 2 ? indication(i + 1, size) : channel(i + 1, size)));
    const stream = Buffer.concat(frames);
    for (const step of [1, 3, 7, 1000, stream.length]) {
      const fakeTcp = { type: "tcp", onData: (_d: Buffer, _a: unknown) => {}, closed: false, send: async () => {}, close: async () => {} };
      const turn = new TurnProtocol(["127.0.0.1", 3478], "u", "p", 600, fakeTcp as any);
      (turn as any).addrByChannel[0x4000] = peer;
      const got: Buffer[] = [];
      turn.onData.subscribe((data: Buffer) => got.push(Buffer.from(data)));
      for (let at = 0; at < stream.length; at += step) (turn as any).dataReceived(stream.subarray(at, at + step), ["127.0.0.1", 3478]);
      expect(got.map((d) => d.length), `split every ${step} bytes`).toEqual(sizes);
      expect(got.map((d) => d[0])).toEqual(sizes.map((_, i) => i + 1));
    }
  });
});

describe("ECDHE in node:crypto (the DTLS handshake's key exchange)", () => {
  // werift's own JavaScript implementations, the reference the patched functions must agree with.
  const fromWerift = createRequire(new URL("../node_modules/werift/package.json", import.meta.url));
  const ec = fromWerift("./lib/dtls/src/cipher/ec.js");
  const { p256 } = fromWerift("@noble/curves/p256");
  const nacl = fromWerift("tweetnacl");

  it("the ESM build (what recbot runs) and the CommonJS build no longer do the curve math in JavaScript", async () => {
    const { readFileSync } = await import("node:fs");
    const esm = readFileSync(new URL("../node_modules/werift/lib/index.mjs", import.meta.url), "utf8");
    expect(esm).toContain('createECDHNative("prime256v1")');
    expect(esm).not.toMatch(/nacl\d*\.(scalarMult|box\.keyPair)\(/);
    expect(ec.p256Keypair.toString()).toContain("createECDH");
  });

  it("P-256: the shared secret equals @noble/curves' in both directions", () => {
    for (let i = 0; i < 20; i++) {
      const ours = ec.p256Keypair();
      expect(ours.publicKey.length).toBe(65); // uncompressed point, as the ServerKeyExchange/ClientKeyExchange carry it
      const theirPriv = p256.utils.randomPrivateKey();
      const theirPub = Buffer.from(p256.getPublicKey(theirPriv, false));
      const secret = ec.p256PreMasterSecret({ publicKey: theirPub, privateKey: ours.privateKey });
      expect(secret.equals(Buffer.from(p256.getSharedSecret(theirPriv, ours.publicKey)).subarray(1))).toBe(true);
    }
  });

  it("X25519: the shared secret equals tweetnacl's in both directions (RFC 7748)", () => {
    for (let i = 0; i < 20; i++) {
      const ours = ec.x25519Keypair();
      expect([ours.privateKey.length, ours.publicKey.length]).toEqual([32, 32]);
      const theirs = nacl.box.keyPair();
      const secret = ec.x25519PreMasterSecret({ publicKey: Buffer.from(theirs.publicKey), privateKey: ours.privateKey });
      expect(secret.equals(Buffer.from(nacl.scalarMult(theirs.secretKey, ours.publicKey)))).toBe(true);
    }
  });

  it("X25519: RFC 7748 section 6.1 test vector", () => {
    const alicePriv = Buffer.from("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "hex");
    const bobPub = Buffer.from("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", "hex");
    expect(ec.x25519PreMasterSecret({ publicKey: bobPub, privateKey: alicePriv }).toString("hex"))
      .toBe("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  });
});

describe("receive path without per-packet copies (docs/werift-patches.md: allocation cuts)", () => {
  const rtp = (seq: number, opts: { padding?: number; extensions?: boolean } = {}) => {
    const header = new RtpHeader({
      payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: 0x1234, marker: seq % 3 === 0,
      extensions: opts.extensions ? [{ id: 2, payload: Buffer.from([1, 2, 3]) }, { id: 5, payload: Buffer.from([seq & 0xff]) }] : [],
      padding: !!opts.padding, paddingSize: opts.padding ?? 0,
    });
    return new RtpPacket(header, randomBytes(50 + (seq % 700)));
  };

  for (const [name, profile, saltLength] of [["AES-CM", ProtectionProfileAes128CmHmacSha1_80, 14], ["AEAD-GCM", ProtectionProfileAeadAes128Gcm, 12]] as const) {
    it(`${name}: decryptPacket gives the packet decrypt + RtpPacket.deSerialize gave, across a rollover, with padding and extensions`, () => {
      const key = randomBytes(16);
      const salt = randomBytes(saltLength);
      const sender = session(key, salt, profile);
      const [a, b] = [session(key, salt, profile), session(key, salt, profile)];
      for (let i = 0; i < 40; i++) {
        const packet = rtp((65_520 + i) & 0xffff, { padding: i % 4 === 1 ? 1 + (i % 7) : 0, extensions: i % 2 === 0 });
        // SRTP protects the padding with the payload: its last byte counts the padding bytes (RFC 3550 5.1).
        const pad = packet.header.paddingSize;
        const wire = sender.encrypt(pad ? Buffer.concat([packet.payload, Buffer.alloc(pad - 1), Buffer.from([pad])]) : packet.payload, packet.header);
        const old = RtpPacket.deSerialize(a.decrypt(wire));
        const ours = (b as any).decryptPacket(wire) as RtpPacket;
        expect(ours.payload.equals(old.payload)).toBe(true);
        expect(ours.payload.equals(packet.payload)).toBe(true);
        for (const field of ["sequenceNumber", "timestamp", "ssrc", "marker", "payloadType", "padding", "paddingSize", "payloadOffset", "csrcLength"] as const) {
          expect(ours.header[field]).toEqual(old.header[field]);
        }
        expect(ours.header.extensions.map((e) => [e.id, [...e.payload]])).toEqual(old.header.extensions.map((e) => [e.id, [...e.payload]]));
      }
      // A packet that fails authentication leaves the rollover state as it was: the next good packet still decrypts.
      const next = rtp(20);
      const wire = sender.encrypt(next.payload, next.header);
      const bad = Buffer.from(wire);
      bad[bad.length - 1]! ^= 1;
      expect(() => (b as any).decryptPacket(bad)).toThrow(/authenticate/);
      expect(((b as any).decryptPacket(wire) as RtpPacket).payload.equals(next.payload)).toBe(true);
    });
  }

  it("the DTLS transport parses each RTP packet once and the receiver hands it on uncloned, with its codec name cached", () => {
    const startSrtp = RTCDtlsTransport.prototype.startSrtp.toString();
    expect(startSrtp).toContain("decryptPacket");
    expect(startSrtp).not.toContain("RtpPacket.deSerialize");
    const handleRTP = (RTCRtpReceiver.prototype as any).handleRTP.toString();
    expect(handleRTP).toContain("lowerCodecName(codec)");
    expect(handleRTP).toContain("track.onReceiveRtp.execute(packet, extensions)");
  });

  it("header extensions parse to what werift's map/reduce gave (last one of a URI wins, unmapped ids as 'unknown')", () => {
    const uris = [RTP_EXTENSION_URI.sdesMid, RTP_EXTENSION_URI.sdesRTPStreamID, RTP_EXTENSION_URI.repairedRtpStreamId, RTP_EXTENSION_URI.transportWideCC,
      RTP_EXTENSION_URI.absSendTime, RTP_EXTENSION_URI.audioLevelIndication, RTP_EXTENSION_URI.videoOrientation, "urn:example:other"];
    const idToUri = Object.fromEntries(uris.map((u, i) => [i + 1, u]));
    // werift 0.25.2's own code, for reference: every extension mapped to { uri, value }, then folded into one object.
    const reference = (extensions: { id: number; payload: Buffer }[]) =>
      Object.fromEntries(extensions.map((e) => {
        const uri = idToUri[e.id];
        return uri ? [uri, rtpHeaderExtensionsParser([e], idToUri)[uri]] : ["unknown", e.payload];
      }));
    for (let round = 0; round < 300; round++) {
      const extensions = Array.from({ length: round % 6 }, (_, i) => ({ id: 1 + ((round * 7 + i * 3) % 10), payload: randomBytes(3 + (i % 2)) }));
      const ours = rtpHeaderExtensionsParser(extensions, idToUri);
      expect(Object.keys(ours).sort()).toEqual(Object.keys(reference(extensions)).sort());
      for (const [uri, value] of Object.entries(reference(extensions))) expect(ours[uri]).toEqual(value);
    }
    expect(rtpHeaderExtensionsParser.toString()).not.toContain(".reduce(");
  });

  it("Event.execute passes its values without a rest array", () => {
    const e = new Event<[number, string, boolean]>();
    const got: unknown[][] = [];
    e.subscribe((a, b, c) => got.push([a, b, c]));
    e.execute(1, "two", true);
    expect(got).toEqual([[1, "two", true]]);
    expect(e.execute.toString()).not.toContain("...args");
  });
});
