import { PictureLossIndication, RtcpPayloadSpecificFeedback, type RTCRtpTransceiver, type RtcpPacket } from "werift";

/**
 * Calls `listener` for each PLI the remote sends about this transceiver's outgoing stream.
 * werift 0.25 routes payload-specific feedback by the *sender* SSRC of the RTCP packet first, and
 * a remote's RTCP sender SSRC is its own media SSRC, which on a sendrecv m-line is registered for our
 * receiver; so a PLI meant for our sender can land on our receiver. Both routes are watched here.
 */
export function onPictureLoss(transceiver: RTCRtpTransceiver, listener: () => void): () => void {
  const viaSender = transceiver.sender.onPictureLossIndication.subscribe(listener);
  const viaReceiver = transceiver.receiver.onRtcp.subscribe((packet: RtcpPacket) => {
    if (
      packet.type === RtcpPayloadSpecificFeedback.type &&
      packet.feedback.count === PictureLossIndication.count &&
      (packet.feedback as PictureLossIndication).mediaSsrc === transceiver.sender.ssrc
    ) {
      listener();
    }
  });
  return () => {
    viaSender.unSubscribe();
    viaReceiver.unSubscribe();
  };
}
