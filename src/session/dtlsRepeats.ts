import { DtlsClient, type RTCPeerConnection } from "werift";

/** DTLS handshake type 3 (RFC 6347 §4.2.1). */
const HELLO_VERIFY_REQUEST = 3;

/**
 * werift 0.25's DTLS client treats a second HelloVerifyRequest as a fatal error (its flight 3 refuses to run twice)
 * and fails the connection. A second one is normal: when the client's event loop is busy for more than 500 ms, it
 * retransmits its ClientHello and the server answers both. The bench lost 6–10 of 40 sessions this way when they
 * arrived within a second (`dtls_failed`). recbot is the DTLS client whenever the remote peer offers (it answers
 * `setup:active`), so it drops a HelloVerifyRequest that arrives after it already answered one; the retransmission
 * of its own flight carries on as the protocol intends.
 */
export function ignoreRepeatedHelloVerify(pc: RTCPeerConnection): void {
  for (const transport of pc.dtlsTransports) {
    transport.onStateChange.subscribe((state) => {
      if (state !== "connecting") return;
      // werift creates its DTLS socket right after announcing "connecting", in the same turn.
      queueMicrotask(() => {
        const socket = transport.dtls;
        if (!(socket instanceof DtlsClient)) return;
        const handle = socket.onHandleHandshakes;
        socket.onHandleHandshakes = (assembled) => {
          const repeat = socket.dtls.flight >= 3 && assembled.length > 0 && assembled.every((h) => h.msg_type === HELLO_VERIFY_REQUEST);
          return repeat ? Promise.resolve() : handle(assembled);
        };
      });
    });
  }
}
