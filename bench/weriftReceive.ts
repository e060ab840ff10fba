// Microbenchmark of werift's per-packet receive path, without sockets or an event loop:
// SRTP decrypt (AES-CM + HMAC-SHA1-80) → RTP header parse → VP8 payload descriptor parse, the same calls
// werift's DTLS transport and recbot's depacketizer make for every received video packet.
// Run: npm exec -- node bench/weriftReceive.ts [packets] [cm|gcm]   (SRTP profile: AES_CM_128_HMAC_SHA1_80, the
// default, or AEAD_AES_128_GCM, which libdatachannel and browsers may negotiate)   (prints CPU µs per packet, best of 5 rounds).
import { randomBytes } from "node:crypto";
import { ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80, RtpHeader, RtpPacket, SrtpSession, Vp8RtpPayload } from "werift";

const count = Number(process.argv[2] ?? 100_000);
const key = randomBytes(16);
const salt = randomBytes(process.argv[3] === "gcm" ? 12 : 14);
const keys = { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt };
const profile = process.argv[3] === "gcm" ? ProtectionProfileAeadAes128Gcm : ProtectionProfileAes128CmHmacSha1_80;
const sender = new SrtpSession({ keys, profile });
const receiver = new SrtpSession({ keys, profile });

// 1,200-byte packets like a browser's VP8: one-byte header extensions (abs-send-time, transport-cc),
// a VP8 descriptor with a 15-bit picture id.
const packets: Buffer[] = [];
for (let i = 0; i < 256; i++) {
  const header = new RtpHeader({
    payloadType: 96, sequenceNumber: (60_000 + i) & 0xffff, timestamp: 90_000 + 3000 * (i >> 3), ssrc: 0x1234_5678,
    marker: (i & 7) === 7, extension: true,
    extensions: [{ id: 2, payload: randomBytes(3) }, { id: 3, payload: randomBytes(2) }],
  });
  const vp8 = Buffer.concat([Buffer.from([0x90, 0x80, 0x80 | (i >> 8), i & 0xff]), randomBytes(1_160)]);
  packets.push(sender.encrypt(vp8, header));
}

let check = 0;
function receive(n: number): void {
  for (let i = 0; i < n; i++) {
    const plain = receiver.decrypt(packets[i & 255]!);
    const rtp = RtpPacket.deSerialize(plain);
    const vp8 = Vp8RtpPayload.deSerialize(rtp.payload);
    check += rtp.header.sequenceNumber + (vp8.pictureId ?? 0) + vp8.payload.length;
  }
}
receive(20_000); // warm up the JIT
// CPU time of this thread, best of 5 rounds: other processes on a shared machine slow a round down but
// rarely make one cheaper.
const rounds: number[] = [];
for (let r = 0; r < 5; r++) {
  const before = process.cpuUsage();
  receive(count);
  const used = process.cpuUsage(before);
  rounds.push((used.user + used.system) / count);
}
console.log(JSON.stringify({ profile: process.argv[3] ?? "cm", packets: count, cpuUsPerPacketBest: +Math.min(...rounds).toFixed(3), rounds: rounds.map((r) => +r.toFixed(2)), check }));
