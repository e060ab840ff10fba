import {
  ReceiverEstimatedMaxBitrate, RtcpPayloadSpecificFeedback, useAbsSendTime, useTransportWideCC,
  type RTCRtpHeaderExtensionParameters, type RTCRtpReceiver,
} from "werift";

/**
 * Bandwidth feedback for senders, so a browser reaches its full quality within seconds instead of creeping up
 * from its start rate (~300 kbit/s) by ~8 % a second, which is what it does when the receiver sends no estimate.
 *
 * recbot negotiates the RTP header extensions browsers use for bandwidth estimation (transport-wide sequence
 * numbers, abs-send-time) and sends REMB (RTCP PSFB, "goog-remb") with a fixed target: the most recbot wants to
 * receive per video track (`maxBitrateKbps`). A browser trusts a receiver's estimate without probing for it during
 * the first seconds of a call when nothing is lost, so a REMB from the first packet on lets it open up at once;
 * later its own loss- and delay-based control (fed by werift's transport-cc feedback) keeps it below what the path
 * carries, with REMB as the ceiling.
 */
export function bandwidthHeaderExtensions(): { audio: RTCRtpHeaderExtensionParameters[]; video: RTCRtpHeaderExtensionParameters[] } {
  return { audio: [], video: [useAbsSendTime()] };
}

/** REMB's bitrate is an 18-bit mantissa times 2^exponent (draft-alvestrand-rmcat-remb §2.2). */
export function rembFields(bitrateBps: number): { brExp: number; brMantissa: number } {
  let brExp = 0;
  let brMantissa = Math.max(0, Math.floor(bitrateBps));
  while (brMantissa >= 1 << 18) {
    brMantissa = Math.floor(brMantissa / 2);
    brExp++;
  }
  return { brExp, brMantissa };
}

/** How often REMB goes out: often at the start (the sender's trust window is short), then once a second. */
const FIRST_INTERVAL_MS = 200;
const STEADY_INTERVAL_MS = 1000;
const FAST_REPORTS = 10;

/**
 * Sends REMB for the video of one connection until closed. It starts as soon as the connection is up, before the
 * first video packet: a browser picks its first encoder resolution from its estimate when the first frame is
 * encoded (at its 300 kbit/s start it drops a 1280x720 camera to 640x360 or 320x180 and climbs back over ~30 s).
 */
export class RembSender {
  private readonly ssrcs = new Set<number>();
  private receiver: RTCRtpReceiver | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sent = 0;
  private closed = false;
  private readonly bitrateBps: number;
  private readonly onError: (err: unknown) => void;

  constructor(bitrateBps: number, onError: (err: unknown) => void) {
    this.bitrateBps = bitrateBps;
    this.onError = onError;
  }

  /** A video receiver (all of a bundled connection's receivers share one DTLS transport) and its SSRC if declared. */
  add(receiver: RTCRtpReceiver, ssrc: number | undefined): void {
    this.receiver ??= receiver;
    if (ssrc) this.ssrcs.add(ssrc);
  }

  /** The connection is up (DTLS done): report from now on. */
  start(): void {
    if (this.closed || this.timer || !this.receiver) return;
    this.schedule(0);
  }

  get reportsSent(): number {
    return this.sent;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      if (this.closed) return;
      this.send();
      this.schedule(this.sent < FAST_REPORTS ? FIRST_INTERVAL_MS : STEADY_INTERVAL_MS);
    }, delayMs);
  }

  private send(): void {
    const receiver = this.receiver!;
    const ssrcFeedbacks = [...this.ssrcs];
    // The value is for the whole connection: maxBitrateKbps per video stream.
    const remb = new ReceiverEstimatedMaxBitrate({
      senderSsrc: receiver.rtcpSsrc, mediaSsrc: 0, ssrcNum: ssrcFeedbacks.length, ssrcFeedbacks,
      ...rembFields(this.bitrateBps * Math.max(1, ssrcFeedbacks.length)),
    });
    this.sent++;
    receiver.dtlsTransport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })]).catch(this.onError);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
