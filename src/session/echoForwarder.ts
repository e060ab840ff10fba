import { MediaStreamTrack, type RTCRtpTransceiver, type RtpPacket } from "werift";
import { onPictureLoss } from "./pictureLoss.ts";

/**
 * Echo mode for one received track: the same transceiver sends every received RTP packet back
 * (werift's sender clones each packet and rewrites SSRC and payload type), and a keyframe request
 * the client sends about the echo (PLI on our sender) is passed on to the client's own sender.
 * Must be made while the offer is applied (from `ontrack`), before the answer is created, so the
 * answer says sendrecv.
 */
export class EchoForwarder {
  readonly track: MediaStreamTrack;
  packets = 0;
  keyframeRequestsForwarded = 0;
  private readonly transceiver: RTCRtpTransceiver;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(transceiver: RTCRtpTransceiver, requestKeyframe: () => void) {
    this.transceiver = transceiver;
    this.track = new MediaStreamTrack({ kind: transceiver.kind });
    transceiver.setDirection("sendrecv");
    void transceiver.sender.replaceTrack(this.track);
    this.unsubscribe = onPictureLoss(transceiver, () => {
      this.keyframeRequestsForwarded++;
      requestKeyframe();
    });
  }

  /** Per packet: no allocation here; the sender copies the packet before changing its header. */
  forward(packet: RtpPacket): void {
    if (this.closed) return;
    this.packets++;
    this.track.writeRtp(packet);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.track.stop();
  }

}
