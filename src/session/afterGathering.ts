import type { FastifyBaseLogger as Logger } from "fastify";
import type { RTCPeerConnection } from "werift";
import { ignoreRepeatedHelloVerify } from "./dtlsRepeats.ts";
import { growReceiveBuffers } from "./socketBuffers.ts";

/** The kernel's cap on receive buffers is the same for every session: say so once per process. */
let cappedWarningLogged = false;

/**
 * Once werift has gathered, its sockets and DTLS transports exist: give the sockets room to ride out
 * event-loop pauses (socketBuffers.ts) and keep a repeated HelloVerifyRequest from failing the handshake
 * (dtlsRepeats.ts). `receiveBufferBytes` 0 leaves the kernel's default.
 */
export function afterGathering(pc: RTCPeerConnection, receiveBufferBytes: number, log: Logger): void {
  ignoreRepeatedHelloVerify(pc);
  if (!receiveBufferBytes) return;
  const { sockets, grantedBytes } = growReceiveBuffers(pc, receiveBufferBytes);
  if (sockets && grantedBytes < receiveBufferBytes && !cappedWarningLogged) {
    cappedWarningLogged = true;
    log.warn(
      { wantedBytes: receiveBufferBytes, grantedBytes },
      `the kernel capped UDP receive buffers at ${grantedBytes} bytes: short pauses will drop packets under load; as root: sysctl -w net.core.rmem_max=${receiveBufferBytes}`,
    );
  }
}
