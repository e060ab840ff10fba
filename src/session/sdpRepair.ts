/**
 * Repairs, before werift parses it, what browsers put in an SDP that werift 0.25.2's parser cannot take.
 *
 * Firefox (with H.264 available, after `setCodecPreferences`) keeps `a=fmtp:`/`a=rtcp-fb:`/`a=rtpmap:` lines for
 * payload types it removed from the m= line. werift looks the codec of every `a=fmtp:` up among the section's
 * `a=rtpmap:` lines and throws when there is none ("Cannot set properties of undefined"); and it takes every
 * `a=rtpmap:` as offered, on the m= line or not. RFC 8866 §6.6/§6.15 tie these attributes to the formats of their
 * m= line, so lines for other payload types carry nothing and are dropped:
 * - `a=rtpmap:`, `a=fmtp:`, `a=rtcp-fb:` for a payload type not on the section's m= line (`a=rtcp-fb:*` stays);
 * - `a=fmtp:` for a payload type without an `a=rtpmap:` (static types need none, but werift throws on it);
 * - `a=rtpmap:`, `a=fmtp:`, `a=rtcp-fb:`, `a=extmap:` lines without a value (werift throws on each).
 * Pure: returns the repaired SDP and one phrase per dropped line, for the log.
 */
export function repairSdp(sdp: string): { sdp: string; repairs: string[] } {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const lines = sdp.split(/\r?\n/);
  const repairs: string[] = [];
  const out: string[] = [];
  let section: string[] = [];
  const flush = () => {
    out.push(...repairSection(section, repairs));
    section = [];
  };
  for (const line of lines) {
    if (line.startsWith("m=")) flush();
    section.push(line);
  }
  flush();
  return { sdp: repairs.length ? out.join(eol) : sdp, repairs };
}

const PT_ATTRIBUTE = /^a=(rtpmap|fmtp|rtcp-fb):(\S+)/;
const NEEDS_VALUE = /^a=(rtpmap|fmtp|rtcp-fb|extmap):?\s*$/;

function repairSection(lines: string[], repairs: string[]): string[] {
  const mLine = lines[0]?.startsWith("m=") ? lines[0] : undefined;
  // Payload types exist only for RTP media sections (not the session part, not m=application).
  const rtp = mLine !== undefined && /^m=(audio|video) \S+ \S*RTP\S* /.test(mLine);
  const formats = new Set(rtp ? mLine!.split(" ").slice(3).filter((f) => f !== "") : []);
  const mapped = new Set<string>();
  for (const line of lines) {
    const m = /^a=rtpmap:(\d+) \S/.exec(line);
    if (m && formats.has(m[1])) mapped.add(m[1]);
  }
  return lines.filter((line) => {
    if (NEEDS_VALUE.test(line)) {
      repairs.push(`dropped "${line.trim()}" (no value)`);
      return false;
    }
    if (!rtp) return true;
    const m = PT_ATTRIBUTE.exec(line);
    if (!m || (m[1] === "rtcp-fb" && m[2] === "*")) return true;
    const [, attribute, pt] = m;
    if (!formats.has(pt)) {
      repairs.push(`dropped a=${attribute}:${pt} (payload type not on its m= line)`);
      return false;
    }
    if (attribute === "fmtp" && !mapped.has(pt)) {
      repairs.push(`dropped a=fmtp:${pt} (no a=rtpmap for it)`);
      return false;
    }
    return true;
  });
}
