import type { IceServer } from "../../session/iceServers.ts";

const quote = (s: string) => `"${s.replace(/["\\]/g, "\\$&")}"`;

/** RFC 9725 §4.6: one `Link: <url>; rel="ice-server"` per STUN/TURN URL, TURN ones with credentials. */
export function iceServerLinks(servers: readonly IceServer[]): string[] {
  const links: string[] = [];
  for (const server of servers) {
    for (const url of Array.isArray(server.urls) ? server.urls : [server.urls]) {
      let link = `<${url}>; rel="ice-server"`;
      if (server.username !== undefined && server.credential !== undefined) {
        link += `; username=${quote(server.username)}; credential=${quote(server.credential)}; credential-type="password"`;
      }
      links.push(link);
    }
  }
  return links;
}
