/**
 * RFC 8843 §7.3: an offerer with max-bundle puts `port 0` plus `a=bundle-only` on every bundled
 * m-line but the first (GStreamer's webrtcbin does). werift reads port 0 as "rejected" and drops the
 * track, so such sections get the placeholder port 9 before werift sees the offer.
 */
export function acceptBundleOnly(sdp: string): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const sections = sdp.split(/\r?\n(?=m=)/);
  return sections
    .map((section) =>
      /^m=\S+ 0 /.test(section) && /^a=bundle-only\s*$/m.test(section) ? section.replace(/^(m=\S+) 0 /, "$1 9 ") : section,
    )
    .join(eol);
}
