import type { Socket } from "node:dgram";
import type { RTCPeerConnection } from "werift";

/**
 * werift leaves its UDP sockets at the kernel's default receive buffer (net.core.rmem_default, 208 KiB on Debian):
 * about 90 full-size packets once the kernel's per-packet overhead is counted, i.e. ~30 ms of 20 HD streams. Any
 * pause of the event loop longer than that (GC, a burst of DTLS handshakes, spawning ffmpeg) drops packets in the
 * kernel, which then cost NACKs and keyframes. A larger buffer rides those pauses out; the kernel caps it at
 * net.core.rmem_max.
 */
export function growReceiveBuffers(pc: RTCPeerConnection, bytes: number): { sockets: number; grantedBytes: number } {
  let sockets = 0;
  let grantedBytes = Infinity;
  for (const socket of udpSockets(pc)) {
    try {
      socket.setRecvBufferSize(bytes);
      // Linux reports twice what was granted (it reserves the other half for its own bookkeeping).
      grantedBytes = Math.min(grantedBytes, socket.getRecvBufferSize() / 2);
      sockets++;
    } catch {
      // not bound yet, or already closed: nothing to grow
    }
  }
  return { sockets, grantedBytes: sockets ? grantedBytes : 0 };
}

/** The UDP sockets werift opened for the peer's ICE: one per local address, plus TURN allocations over UDP. */
function udpSockets(pc: RTCPeerConnection): Socket[] {
  const out: Socket[] = [];
  for (const ice of pc.iceTransports) {
    for (const protocol of (ice.connection as unknown as { protocols: unknown[] }).protocols) {
      const p = protocol as { transport?: { socket?: unknown }; turn?: { transport?: { socket?: unknown } } };
      for (const socket of [p.transport?.socket, p.turn?.transport?.socket]) {
        if (socket && typeof (socket as Socket).setRecvBufferSize === "function") out.push(socket as Socket);
      }
    }
  }
  return out;
}
