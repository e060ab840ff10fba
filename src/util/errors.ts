/** Errors with a stable `code` that the signaling edge maps to a message or status. */
export class RecbotError extends Error {
  readonly code: string;
  readonly context: Record<string, unknown>;

  constructor(code: string, message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.context = context;
    this.name = new.target.name;
  }
}

export class InvalidStateError extends RecbotError {
  constructor(message: string, context?: Record<string, unknown>) {
    super("invalid_state", message, context);
  }
}

export class UnsupportedCodecError extends RecbotError {
  constructor(message: string, context?: Record<string, unknown>) {
    super("unsupported_codec", message, context);
  }
}

export class InvalidSdpError extends RecbotError {
  constructor(message: string, context?: Record<string, unknown>) {
    super("invalid_sdp", message, context);
  }
}

/** Every way in (WebSocket offer or call, WHIP) shares `maxSessions`. */
export class TooManySessionsError extends RecbotError {
  constructor(limit: number) {
    super("too_many_sessions", `recbot is at its session limit (${limit}); try again later`);
  }
}

export class FfmpegExitError extends RecbotError {
  constructor(message: string, context?: Record<string, unknown>) {
    super("ffmpeg_failed", message, context);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** An error as it crosses a thread (structured clone keeps no class): its code says what it was. */
export interface WireError {
  code?: string;
  message: string;
  context?: Record<string, unknown>;
}

const byCode: Record<string, new (message: string, context?: Record<string, unknown>) => RecbotError> = {
  invalid_state: InvalidStateError,
  unsupported_codec: UnsupportedCodecError,
  invalid_sdp: InvalidSdpError,
  ffmpeg_failed: FfmpegExitError,
};

export function toWire(err: unknown): WireError {
  if (err instanceof RecbotError) return { code: err.code, message: err.message, context: err.context };
  return { message: errorMessage(err) };
}

/** Rebuilds an error from its code: the named class if it has one, a RecbotError with the code otherwise. */
export function fromWire(wire: WireError, context: Record<string, unknown> = {}): Error {
  if (wire.code === undefined) return new Error(wire.message);
  const ctx = { ...wire.context, ...context };
  const Named = byCode[wire.code];
  return Named ? new Named(wire.message, ctx) : new RecbotError(wire.code, wire.message, ctx);
}

export function isWireError(value: unknown): value is WireError {
  return typeof value === "object" && value !== null && !(value instanceof Error) && typeof (value as WireError).message === "string";
}
