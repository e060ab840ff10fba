/** A JSON-over-WebSocket signaling client on Node's built-in WebSocket. */
export class Signaling {
  readonly socket: WebSocket;
  private readonly messages: any[] = [];
  private waiters: { match: (m: any) => boolean; resolve: (m: any) => void }[] = [];

  constructor(url: string, onMessage: (m: any) => void) {
    this.socket = new WebSocket(url);
    this.socket.addEventListener("message", (e) => {
      const m = JSON.parse(String(e.data));
      this.messages.push(m);
      onMessage(m);
      this.waiters = this.waiters.filter((w) => (w.match(m) ? (w.resolve(m), false) : true));
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState === WebSocket.OPEN) return resolve();
      this.socket.addEventListener("open", () => resolve(), { once: true });
      this.socket.addEventListener("error", () => reject(new Error(`cannot open ${this.socket.url}`)), { once: true });
    });
  }

  send(m: unknown): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(m));
  }

  waitFor(match: (m: any) => boolean, timeoutMs: number, what: string): Promise<any> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }
}
