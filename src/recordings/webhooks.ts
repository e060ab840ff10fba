import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readFile, readdir, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { FastifyBaseLogger } from "fastify";
import { redact } from "../util/redact.ts";
import type { RecordingMetadata } from "./metadata.ts";

export interface WebhookOptions {
  url: string;
  secret?: string;
  log: FastifyBaseLogger;
  /**
   * Where undelivered events are kept (one JSON file each) so they survive a restart; without it they live only
   * in memory. recbot uses `<recordingsDir>/.webhook-outbox`.
   */
  outboxDir?: string;
  /** Attempts in all, including the first (per process run: what is left is tried again at the next start). */
  attempts?: number;
  /** Delay before the first retry; doubled each time. */
  backoffMs?: number;
}

/** The signature header value: `sha256=` + hex HMAC-SHA256 of the raw body with the shared secret. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * POSTs recording events to a configured URL, signed, retried with exponential backoff. Each event is written to
 * the outbox before the first attempt and removed once delivered, so a restart (or a crash) loses none: `resume`
 * sends what the last run left. Delivery is at least once: an event delivered just before a crash is sent again
 * (same body, same `id`), so receivers dedupe by `id`. `close` stops retrying and waits for attempts in flight.
 */
export class WebhookNotifier {
  private readonly options: Required<Omit<WebhookOptions, "secret" | "outboxDir">> & { secret?: string; outboxDir?: string };
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  private sequence = 0;
  /** Backoff waits in progress, woken by `close`. */
  private readonly waking = new Set<() => void>();

  constructor(options: WebhookOptions) {
    this.options = { attempts: 5, backoffMs: 1000, ...options };
    if (options.outboxDir) {
      try {
        mkdirSync(options.outboxDir, { recursive: true });
      } catch (err) {
        // E.g. a full disk at start-up: recbot still starts; events are then kept in memory only.
        options.log.warn({ err }, "webhook outbox cannot be created: undelivered events will not survive a restart");
        this.options.outboxDir = undefined;
      }
    }
  }

  notify(event: "started" | "finished" | "failed", recording: RecordingMetadata): void {
    this.post(`recording.${event}`, { recording });
  }

  /** Any event: `{"event": name, "sentAt": …, ...fields}`, signed and retried like the recording events. */
  post(event: string, fields: Record<string, unknown>): void {
    if (this.closed) return;
    // The file name orders events as they happened: `resume` sends them in that order.
    const id = `${Date.now().toString().padStart(15, "0")}-${String(this.sequence++).padStart(6, "0")}-${randomBytes(4).toString("hex")}`;
    const body = JSON.stringify({ id, event, sentAt: new Date().toISOString(), ...fields });
    this.track(this.persist(id, body).then((file) => this.deliver(body, file)));
  }

  /** Sends what a previous run left in the outbox (started in the order the events happened). Returns how many. */
  async resume(): Promise<number> {
    const dir = this.options.outboxDir;
    if (!dir) return 0;
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json")).sort();
    for (const name of names) {
      const file = path.join(dir, name);
      const body = await readFile(file, "utf8").catch(() => undefined);
      if (body === undefined) continue;
      this.track(this.deliver(body, file));
    }
    if (names.length) this.options.log.info({ events: names.length }, "resending webhooks left from the last run");
    return names.length;
  }

  private track(delivery: Promise<void>): void {
    const tracked = delivery.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** The outbox file for an event, or undefined when there is no outbox or it cannot be written (disk full). */
  private async persist(id: string, body: string): Promise<string | undefined> {
    if (!this.options.outboxDir) return undefined;
    const file = path.join(this.options.outboxDir, `${id}.json`);
    try {
      await writeFile(file, body);
      return file;
    } catch (err) {
      this.options.log.warn({ err }, "webhook outbox not writable: this event is kept in memory only");
      return undefined;
    }
  }

  private async deliver(body: string, file: string | undefined): Promise<void> {
    const { url, secret, attempts, backoffMs, log } = this.options;
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "recbot" };
    if (secret) headers["x-recbot-signature"] = webhookSignature(secret, body);
    // The first attempt is always made, even while closing: the last sessions' "finished" events go out then.
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
        if (res.ok) {
          if (file) await unlink(file).catch(() => {});
          return;
        }
        log.warn({ url: redact(url), status: res.status, attempt }, "webhook refused");
      } catch (err) {
        log.warn({ url: redact(url), err, attempt }, "webhook failed");
      }
      if (this.closed) return; // kept in the outbox for the next start
      if (attempt < attempts) await this.pause(backoffMs * 2 ** (attempt - 1));
    }
    log.error({ url: redact(url), kept: file !== undefined }, file ? "webhook given up for now: kept for the next start" : "webhook given up");
  }

  /** A backoff wait that `close` cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waking.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waking.add(wake);
    });
  }

  /** Stops retrying and waits for attempts in progress; undelivered events stay in the outbox. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.waking]) wake();
    await Promise.allSettled([...this.inFlight]);
  }
}
