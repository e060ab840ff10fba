import { Type, type Static } from "@sinclair/typebox";

/**
 * The one config schema. Every option has a default (beside it), an env name and a CLI flag
 * (see `options` in loadConfig.ts and the README's table).
 */
export const ConfigSchema = Type.Object(
  {
    host: Type.String({ default: "0.0.0.0", description: "HTTP/WebSocket listen address" }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: "HTTP/WebSocket listen port" }),
    recordingsDir: Type.String({ minLength: 1, default: "./recordings", description: "where recordings are written" }),
    iceServers: Type.Array(Type.String({ pattern: "^(stun|turn|turns):" }), {
      default: [],
      description: "STUN/TURN URLs recbot's own peer uses (comma-separated in env/CLI)",
    }),
    clientIceServers: Type.Array(Type.String({ pattern: "^(stun|turn|turns):" }), {
      default: [],
      description: "STUN/TURN URLs handed to clients by GET /ice-servers (empty = the same as iceServers)",
    }),
    turnSecret: Type.Optional(Type.String({ minLength: 1, description: "TURN REST API shared secret (coturn use-auth-secret)" })),
    turnTtlSeconds: Type.Integer({ minimum: 60, default: 86400, description: "lifetime of ephemeral TURN credentials" }),
    iceAddresses: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: "local addresses ICE may use for host candidates (empty = all interfaces)",
    }),
    announcedAddresses: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: "extra host candidate addresses to announce, e.g. the public IP of a 1:1 NAT in front of recbot",
    }),
    iceTransportPolicy: Type.Union([Type.Literal("all"), Type.Literal("relay")], {
      default: "all",
      description: "recbot's own ICE policy: relay = only TURN relay candidates",
    }),
    udpPortRange: Type.Optional(
      Type.Tuple([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Integer({ minimum: 1, maximum: 65535 })], {
        description: "UDP port range for ICE, as min-max",
      }),
    ),
    logLevel: Type.Union(
      ["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => Type.Literal(l)),
      { default: "info", description: "log level" },
    ),
    maxMessageBytes: Type.Integer({ minimum: 1024, default: 262144, description: "largest signaling message accepted" }),
    udpReceiveBufferBytes: Type.Integer({
      minimum: 0, default: 4 * 1024 * 1024,
      description: "receive buffer asked for each ICE UDP socket (0 = the kernel default); capped by net.core.rmem_max",
    }),
    jitterVideoMs: Type.Integer({ minimum: 0, maximum: 5000, default: 400, description: "video reorder/NACK wait" }),
    authTokens: Type.Array(Type.String({ minLength: 16 }), {
      default: [],
      description: "bearer tokens accepted on /ws, WHIP, /recordings and /ice-servers (comma-separated; empty = no auth)",
    }),
    authSecret: Type.Optional(Type.String({ minLength: 16, description: "secret for signed expiring tokens (`recbot token`)" })),
    corsOrigins: Type.Array(Type.String({ minLength: 1 }), { default: [], description: "origins allowed cross-origin (`*` for any; empty = none)" }),
    rateLimitPerMinute: Type.Integer({ minimum: 1, default: 600, description: "HTTP requests per minute per client address" }),
    webhookUrl: Type.Optional(Type.String({ pattern: "^https?://", description: "POSTed recording.started/finished/failed events" })),
    webhookSecret: Type.Optional(Type.String({ minLength: 16, description: "signs webhook bodies (X-Recbot-Signature: sha256=HMAC)" })),
    maxSessions: Type.Integer({ minimum: 1, default: 100, description: "concurrent sessions (WebSocket and WHIP together); more are refused" }),
    wsMessagesPerSecond: Type.Integer({
      minimum: 1, default: 50,
      description: "messages a /ws client may send per second (bursts of twice that); beyond, the socket is closed with 1008",
    }),
    wsMaxBufferedBytes: Type.Integer({
      minimum: 1024, default: 1024 * 1024,
      description: "bytes recbot holds for a /ws client that does not read; beyond, the socket is closed with 4008",
    }),
    maxMediaSections: Type.Integer({ minimum: 1, maximum: 1000, default: 16, description: "m-lines an offer (or answer) may have; more are refused before parsing" }),
    maxTracksPerSession: Type.Integer({ minimum: 1, maximum: 1000, default: 8, description: "tracks recorded per session; an offer with more is refused" }),
    maxStreamsPerSession: Type.Integer({ minimum: 1, maximum: 1000, default: 4, description: "MediaStreams (= files, ffmpeg processes) per session; an offer with more is refused" }),
    maxStreamsTotal: Type.Integer({ minimum: 1, default: 200, description: "MediaStreams (= ffmpeg processes) over all sessions; offers beyond it are refused until streams end" }),
    maxRecordingSeconds: Type.Integer({ minimum: 1, default: 14400, description: "a recording longer than this is finalized and the session closed" }),
    maxRecordingBytes: Type.Integer({ minimum: 1, default: 8 * 1024 ** 3, description: "a recording larger than this is finalized and the session closed" }),
    connectTimeoutSeconds: Type.Integer({ minimum: 1, default: 30, description: "time for a socket to send an offer and for ICE/DTLS to connect" }),
    peerTimeoutSeconds: Type.Integer({ minimum: 1, default: 15, description: "a connected peer that sends no media for this long is presumed gone" }),
    codecs: Type.Array(
      Type.Union([
        Type.Literal("vp8"), Type.Literal("vp9"), Type.Literal("h264"), Type.Literal("av1"),
        Type.Literal("opus"), Type.Literal("pcmu"), Type.Literal("pcma"),
      ]),
      {
        minItems: 1,
        uniqueItems: true,
        default: ["vp8", "vp9", "h264", "av1", "opus", "pcmu", "pcma"],
        description: "codecs recbot records, in preference order (comma-separated in env/CLI)",
      },
    ),
    jitterAudioMs: Type.Integer({ minimum: 0, maximum: 5000, default: 100, description: "audio reorder wait" }),
    syncWaitMs: Type.Integer({
      minimum: 0, maximum: 10000, default: 3000,
      description: "longest hold of a stream's first frames for RTCP sender reports, so its tracks start in sync (2 s when no track has any; 0 = place by arrival at once)",
    }),
    callMaxParticipants: Type.Integer({ minimum: 2, maximum: 64, default: 16, description: "participants present in one call at once; more are refused" }),
    compositeFormat: Type.Union([Type.Literal("mp4"), Type.Literal("webm")], {
      default: "mp4", description: "a call's composite file: mp4 (H.264 + AAC, index first) or webm (VP9 + Opus)",
    }),
    compositeOnEnd: Type.Boolean({ default: true, description: "compose a call's file when its last participant leaves" }),
    compositeSize: Type.String({ pattern: "^\\d{2,4}x\\d{2,4}$", default: "1280x720", description: "the composite's canvas, WIDTHxHEIGHT" }),
    compositeFps: Type.Integer({ minimum: 10, maximum: 60, default: 30, description: "the composite's frame rate" }),
    compositeNiceness: Type.Integer({ minimum: 0, maximum: 19, default: 10, description: "niceness of the composite's ffmpeg (live recording keeps priority)" }),
    compositeThreads: Type.Integer({ minimum: 1, maximum: 16, default: 1, description: "threads of the composite's ffmpeg (1 = one core)" }),
    simulcastLayer: Type.String({
      minLength: 1, default: "highest",
      description: "simulcast layer to record: highest, lowest, or a rid (others are received but not written)",
    }),
    maxBitrateKbps: Type.Integer({
      minimum: 0, maximum: 100_000, default: 5000,
      description: "bitrate per video track recbot tells senders it can take (REMB); 0 = send no REMB",
    }),
    ffmpegPath: Type.String({
      minLength: 1, default: "auto",
      description: "ffmpeg each recorder runs: auto = recbot's lean build (npm run build:ffmpeg) if built, else ffmpeg from PATH; or a path",
    }),
    workers: Type.Integer({
      minimum: 1, maximum: 64, default: 1,
      description: "threads running the peers and recorders (1 = all in the main thread; more spreads SRTP and media work over cores)",
    }),
  },
  { additionalProperties: false },
);

export type Config = Readonly<Static<typeof ConfigSchema>>;
