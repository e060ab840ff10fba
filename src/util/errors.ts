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

export class FfmpegExitError extends RecbotError {
  constructor(message: string, context?: Record<string, unknown>) {
    super("ffmpeg_failed", message, context);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
