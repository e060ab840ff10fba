import WebSocket from "ws";

/** A JSON WebSocket client for recbot's /ws that records every message and lets the caller wait for one. */
export class WsClient {
  readonly messages: any[] = [];
  readonly socket: WebSocket;
  closeCode: number | undefined;
  closeReason = "";
  private readonly arrivals = new WeakMap<object, number>();
  private waiters: { match: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  private readonly closedPromise: Promise<number>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on("message", (data) => {
      const m = JSON.parse(data.toString());
      this.messages.push(m);
      this.arrivals.set(m, performance.now());
      this.waiters = this.waiters.filter((w) => (w.match(m) ? (w.resolve(m), false) : true));
    });
    this.closedPromise = new Promise((resolve) =>
      this.socket.on("close", (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      }),
    );
    this.socket.on("error", () => {});
  }

  opened(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once("open", () => resolve());
      this.socket.once("error", reject);
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(match: (m: any) => boolean, timeoutMs = 20_000): Promise<any> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a message; got ${JSON.stringify(this.messages).slice(0, 500)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  /** performance.now() when the message arrived. */
  arrivalOf(message: object): number {
    return this.arrivals.get(message) ?? NaN;
  }

  closed(): Promise<number> {
    return this.closedPromise;
  }

  close(): void {
    this.socket.close();
  }
}
