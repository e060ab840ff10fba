/**
 * Keeps credentials out of logs: tokens in URLs (`?access_token=`, plain or signed), `Authorization` header
 * values, passwords in URLs' user info. Applied by the logger's serializers to every request URL and error,
 * and by code that logs a configured URL (webhooks).
 */
export const REDACTED = "[redacted]";

/** Query parameters whose values are secrets, by name. */
const SECRET_PARAM = /([?&;](?:access_token|token|auth|authorization|key|api_key|apikey|secret|password|passwd|pwd|signature|sig|credential)=)[^&#\s"']*/gi;
const USER_INFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#@\s"']+@/gi;
const AUTH_SCHEME = /\b(Bearer|Basic|Digest)\s+[A-Za-z0-9._~+/=:-]+/gi;

/** `text` with every credential it contains replaced by "[redacted]". Cheap when there is none. */
export function redact(text: string): string {
  if (!/[=@]|bearer|basic|digest/i.test(text)) return text;
  return text.replace(SECRET_PARAM, `$1${REDACTED}`).replace(USER_INFO, `$1${REDACTED}@`).replace(AUTH_SCHEME, `$1 ${REDACTED}`);
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  hostname?: string;
  ip?: string;
  socket?: { remoteAddress?: string; remotePort?: number };
}

/** pino serializers for recbot's logger: request lines without credentials, errors with their text redacted. */
export const redactingSerializers = {
  req(request: LoggedRequest) {
    return {
      method: request.method,
      url: request.url === undefined ? undefined : redact(request.url),
      host: request.host ?? request.hostname,
      remoteAddress: request.ip ?? request.socket?.remoteAddress,
      remotePort: request.socket?.remotePort,
    };
  },
  err(err: Error): { [key: string]: unknown; type: string; message: string; stack: string } {
    const out: { [key: string]: unknown; type: string; message: string; stack: string } = {
      type: err.name, message: redact(String(err.message)), stack: redact(String(err.stack ?? "")),
    };
    for (const [k, v] of Object.entries(err)) out[k] = typeof v === "string" ? redact(v) : v;
    if (err.cause instanceof Error) out.cause = redactingSerializers.err(err.cause);
    return out;
  },
};

/** pino `redact` paths: header values wherever a request or its headers are logged. */
export const redactedPaths = ["req.headers.authorization", "req.headers.cookie", "headers.authorization", "headers.cookie", "authorization"];
