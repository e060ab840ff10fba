/**
 * recbot's media test kit (`import … from "recbot/testkit"`): what `recbot loopback`, recbot's own tests and its
 * benchmark use to publish known media to a recbot and check what it recorded.
 *
 * - makeClip / readClip: a pre-encoded VP8 + Opus clip (test pattern and tone, or the flash/beep signal)
 * - sendClip: sends a clip in real time on werift tracks (loops it, answers PLIs, DTX like a browser)
 * - publish: a werift publisher over recbot's /ws (offer, trickle ICE, media, bye), optionally in echo mode
 * - publishWhip / whip: the same over WHIP; WsClient: the /ws JSON client
 * - connectRaw / rtp: a connected werift peer that sends RTP packets you build (hostile or unusual senders)
 * - probe / decodeErrors / measureAvSync: read a recording back (ffprobe, a clean decode, flash/beep A/V offset)
 * - EchoMeter: round trip, loss, jitter and freezes of what an echo returns
 * Needs ffmpeg and ffprobe on PATH.
 */
export { makeClip, readClip, type Clip, type ClipFiles, type ClipOptions } from "./clip.ts";
export { parseIvf, parseOggOpus, type EncodedFrame } from "./containers.ts";
export { flashSignal, type FlashSignalOptions } from "./flashSignal.ts";
export { sendClip, type SendOptions, type SendStats, type SentFrame } from "./pacer.ts";
export { clientPeer, correctSenderReports, loopbackOffer, waitConnected, type ClientIceOptions } from "./peer.ts";
export { publish, type PublishOptions, type PublishResult } from "./publisher.ts";
export { publishWhip, splitCandidates, whip, type WhipPublishOptions, type WhipPublishResult, type WhipResponse } from "./whipClient.ts";
export { WsClient } from "./wsClient.ts";
export { connectRaw, offerFor, prng, rtp, type RawPeer, type RawTrack, type RawTrackSpec } from "./rawPeer.ts";
export { decodeErrors, probe, stream, type Probe, type ProbedStream } from "./probe.ts";
export { measureAvSync, type SyncReport } from "./avSync.ts";
export { EchoMeter, type EchoMetrics, type KindMetrics, type SeriesPoint } from "./echoMeter.ts";
