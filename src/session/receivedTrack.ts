import type { FastifyBaseLogger as Logger } from "fastify";
import { RtcpSrPacket, type MediaStreamTrack, type RTCRtpReceiver, type RTCRtpTransceiver, type RTCTrackEvent, type RtpPacket } from "werift";
import { wallMs } from "../media/clock.ts";
import { TrackPipeline } from "../media/pipeline.ts";
import type { CodecName, MediaKind, RtpFrame } from "../media/types.ts";
import { codecTable } from "./codecs.ts";
import { EchoForwarder } from "./echoForwarder.ts";
import { safeStreamId } from "./streamId.ts";

const KEYFRAME_INTERVAL_MS = 500;

/** A track as werift announced it (`ontrack`), before its stream is built. */
export interface TrackOffer {
  track: MediaStreamTrack;
  receiver: RTCRtpReceiver;
  /** The remote MediaStream (msid) the track belongs to, "-" when the offer names none. */
  streamId: string;
  codec: CodecName;
  payloadType: number;
  /** Echo mode: the transceiver that sends the track back. */
  echoOn?: RTCRtpTransceiver;
  /** The transceiver's mid: simulcast layers of one source share it. */
  mid?: string;
  /** The simulcast layer (RTP stream id) this track carries; undefined without simulcast. */
  rid?: string;
}

/**
 * The tracks of one werift `ontrack` event, as offers for their stream. werift leaves `track.streamId` unset for
 * remote tracks (the msid is on the event's streams or the receiver), and with simulcast it announces the first rid's
 * track only: the receiver holds one track per rid of the mid, and the stream records one of them (layerSelector.ts).
 */
export function trackOffersOf(
  { track, receiver, streams, transceiver }: RTCTrackEvent, codec: { codec: CodecName; payloadType: number }, echo: boolean,
): TrackOffer[] {
  const streamId = safeStreamId(streams[0]?.id ?? receiver.remoteStreamId ?? track.streamId);
  const layers = receiver.tracks.filter((t) => t.rid);
  return (layers.length > 1 ? layers : [track]).map((t) => ({
    track: t, receiver, streamId, ...codec, echoOn: echo ? transceiver : undefined, mid: transceiver.mid ?? undefined, rid: t.rid,
  }));
}

export interface ReceivedTrackOptions {
  jitterDelayMs: number;
  log: Logger;
  /** Where its frames go (the stream's SyncHold). */
  frame(frame: RtpFrame): void;
  /** An RTCP sender report (raw 64-bit NTP field, its RTP timestamp), with the local time it arrived (ms). */
  senderReport(ntp: bigint, rtpTimestamp: number, nowMs: number): void;
}

/**
 * One received track: werift's RTP, sender reports and loss events into its TrackPipeline, keyframe
 * requests (PLI) back to the sender, and in echo mode its packets sent back. Closing unsubscribes from
 * werift, stops the echo and flushes the pipeline.
 */
export class ReceivedTrack {
  readonly kind: MediaKind;
  /** The simulcast layer it carries, if any. */
  readonly rid: string | undefined;
  readonly pipeline: TrackPipeline;
  /** Local time of the last RTP packet (ms, wallMs), 0 before the first. */
  lastMediaMs = 0;
  /** Packets with a payload type other than the negotiated one (dropped). */
  foreignPackets = 0;
  private ssrc: number;
  private readonly echo: EchoForwarder | undefined;
  private readonly unsubscribe: (() => void)[];
  private readonly offer: TrackOffer;
  private readonly log: Logger;
  private closed = false;

  constructor(offer: TrackOffer, options: ReceivedTrackOptions) {
    this.offer = offer;
    this.log = options.log;
    this.kind = offer.track.kind as MediaKind;
    this.rid = offer.rid;
    this.ssrc = offer.track.ssrc ?? 0;
    this.pipeline = new TrackPipeline(
      { kind: this.kind, codec: offer.codec, clockRate: codecTable[offer.codec].clockRate, jitterDelayMs: options.jitterDelayMs, keyframeIntervalMs: KEYFRAME_INTERVAL_MS },
      { frame: options.frame, requestKeyframe: () => this.requestKeyframe() },
    );
    if (offer.echoOn) this.echo = new EchoForwarder(offer.echoOn, () => this.requestKeyframe());
    const { track, receiver } = offer;
    this.unsubscribe = [
      track.onReceiveRtp.subscribe(this.onRtp).unSubscribe,
      receiver.onPacketLost.subscribe(() => {
        this.pipeline.stats.nacks++;
      }).unSubscribe,
      // werift routes only sender reports here; their NTP time is parsed by the clock, not by werift (docs/werift.md).
      track.onReceiveRtcp.subscribe((packet) => {
        if (this.closed || !(packet instanceof RtcpSrPacket)) return;
        options.senderReport(packet.senderInfo.ntpTimestamp, packet.senderInfo.rtpTimestamp, wallMs());
      }).unSubscribe,
    ];
  }

  private readonly onRtp = (packet: RtpPacket): void => {
    if (this.closed) return;
    if (packet.header.payloadType !== this.offer.payloadType) {
      // Another codec than negotiated: never feed it to this codec's depacketizer.
      if (this.foreignPackets++ === 0) {
        this.log.warn({ kind: this.kind, expected: this.offer.payloadType, got: packet.header.payloadType }, "peer sends an unexpected payload type; dropping it");
      }
      return;
    }
    const now = wallMs();
    this.ssrc = packet.header.ssrc;
    this.lastMediaMs = now;
    this.echo?.forward(packet);
    this.pipeline.push(packet, now);
  };

  requestKeyframe(): void {
    if (!this.ssrc || this.closed) return;
    this.log.debug({ ssrc: this.ssrc }, "requesting keyframe (PLI)");
    this.offer.receiver.sendRtcpPLI(this.ssrc).catch((err) => this.log.debug({ err }, "PLI not sent"));
  }

  /** Stops taking packets and flushes what the pipeline holds (into the still open recorder). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.unsubscribe) off();
    this.echo?.close();
    this.pipeline.flush();
  }
}
