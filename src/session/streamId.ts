import { createHash } from "node:crypto";

/** RFC 8830 §2: an msid identifier is 1–64 characters. Longer ones are cut (with a hash, see below). */
export const MAX_STREAM_ID_LENGTH = 64;

/**
 * Characters never kept in a stored or echoed stream id: C0/C1 controls and DEL (NUL included), the bidi
 * controls that reorder how text is shown (LRM/RLM/ALM, embeddings, overrides, isolates), zero-width
 * characters, line/paragraph separators and lone surrogates.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]/gu;

/**
 * The stream id recbot stores, logs and echoes for a remote MediaStream's msid: unsafe characters removed,
 * at most 64 characters. An id that had to be changed ends in `~` + 8 hex digits of a hash of the original,
 * so two different msids (say, 100 KB long with the same start) stay two recordings. "-" when nothing is left.
 */
export function safeStreamId(raw: string | undefined): string {
  if (raw === undefined || raw === "") return "-";
  const cleaned = raw.replace(UNSAFE, "");
  const chars = [...cleaned];
  if (cleaned === raw && chars.length <= MAX_STREAM_ID_LENGTH) return raw;
  const hash = createHash("sha256").update(raw).digest("hex").slice(0, 8);
  return `${chars.slice(0, MAX_STREAM_ID_LENGTH - 9).join("")}~${hash}`;
}
