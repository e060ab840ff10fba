import { createHmac } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import { redact } from "../util/redact.ts";
import type { RecordingMetadata } from "./metadata.ts";

export interface WebhookOptions {
  url: string;
  secret?: string;
  log: FastifyBaseLogger;
  /** Attempts in all, including the first. */
  attempts?: number;
  /** Delay before the first retry; doubled each time. */
  backoffMs?: number;
}

/** The signature header value: `sha256=` + hex HMAC-SHA256 of the raw body with the shared secret. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * POSTs recording events to a configured URL, signed, retried with exponential backoff.
 * Delivery runs in the background; `close` waits for what is in flight (bounded by the retries).
 */
export class WebhookNotifier {
  private readonly options: Required<Omit<WebhookOptions, "secret">> & { secret?: string };
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(options: WebhookOptions) {
    this.options = { attempts: 5, backoffMs: 1000, ...options };
  }

  notify(event: "started" | "finished" | "failed", recording: RecordingMetadata): void {
    if (this.closed) return;
    const body = JSON.stringify({ event: `recording.${event}`, sentAt: new Date().toISOString(), recording });
    const delivery = this.deliver(body).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  private async deliver(body: string): Promise<void> {
    const { url, secret, attempts, backoffMs, log } = this.options;
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "recbot" };
    if (secret) headers["x-recbot-signature"] = webhookSignature(secret, body);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
        if (res.ok) return;
        log.warn({ url: redact(url), status: res.status, attempt }, "webhook refused");
      } catch (err) {
        log.warn({ url: redact(url), err, attempt }, "webhook failed");
      }
      if (attempt < attempts && !this.closed) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
      else if (this.closed) break;
    }
    log.error({ url: redact(url) }, "webhook given up");
  }

  /** Stops retrying and waits for deliveries in progress. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }
}
