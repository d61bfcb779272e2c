// The room socket: connects, reconnects with backoff when the connection drops (or the
// server restarts: it keeps its rooms), and hands every server message to the page. The
// server sends the room's state on every connect, so a page that comes back lands on the
// current slide.

import { api } from "../common/api.js";

const FIRST_DELAY = 250; // ms before the first reconnect; doubles up to MAX_DELAY
const MAX_DELAY = 5000;
const NO_ROOM_DELAY = 15000; // there is no such room: ask again, rarely, in case it opens
const CLOSE_NO_ROOM = 4404;
const CLOSE_THROTTLED = 4429; // too many wrong keys from this address
const PING_EVERY = 15000;
const SILENCE = 40000; // no message for this long: the connection is dead, reconnect

export class RoomSocket {
  // handlers: { message(data), status(name, detail) }; key: the presenter key, or null.
  constructor(room, { key = null, message, status }) {
    this.room = room;
    this.key = key;
    this.onMessage = message;
    this.onStatus = status;
    this.ws = null;
    this.delay = FIRST_DELAY;
    this.timer = null;
    this.pinger = null;
    this.lastHeard = 0;
    this.authed = false;
    this.live = false; // the room has answered on this connection
    this.stopped = false;
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    });
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    this.authed = false;
    this.live = false;
    this.onStatus("connecting");
    const ws = new WebSocket(api.demoSocketUrl(this.room));
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.lastHeard = Date.now();
      // (the server may close at once, for no such room: then there is nothing to send)
      if (this.key && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "auth", key: this.key }));
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.keepAlive(), PING_EVERY);
    });
    ws.addEventListener("message", (event) => {
      this.lastHeard = Date.now();
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      // Live, and back to quick reconnects, only once the room has answered: a server that
      // opens the socket and closes it at once (its rooms' shared state is away) is not
      // shown as live, and is tried less often.
      if (data.type === "state" && !this.live) {
        this.live = true;
        this.delay = FIRST_DELAY;
        this.onStatus("live");
      }
      if (data.type === "auth") {
        this.authed = Boolean(data.ok);
        if (!data.ok) this.key = null; // a wrong key is not worth sending again
      }
      this.onMessage(data);
      // The room answers' panels (answer.js, tally.js) listen to the same socket.
      document.dispatchEvent(new CustomEvent("convlens:room", { detail: data }));
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      clearInterval(this.pinger);
      this.ws = null;
      this.authed = false;
      if (this.stopped) return;
      if (event.code === CLOSE_NO_ROOM) {
        this.onStatus("no-room", event.reason);
        this.schedule(NO_ROOM_DELAY);
        return;
      }
      if (event.code === CLOSE_THROTTLED) {
        this.key = null; // follow only; the page says why
        this.onMessage({ type: "auth", ok: false, detail: event.reason });
      }
      this.onStatus("reconnecting", event.reason);
      this.schedule(this.delay);
      this.delay = Math.min(MAX_DELAY, this.delay * 2);
    });
    // "error" is always followed by "close", which decides what to do.
  }

  schedule(delay) {
    clearTimeout(this.timer);
    const jitter = delay * 0.3 * Math.random();
    this.timer = setTimeout(() => this.connect(), delay + jitter);
  }

  reconnectNow() {
    if (this.stopped || this.open) return;
    if (this.ws && this.ws.readyState === WebSocket.CONNECTING) return;
    this.delay = FIRST_DELAY;
    this.connect();
  }

  keepAlive() {
    if (!this.open) return;
    if (Date.now() - this.lastHeard > SILENCE) {
      // The network went away without a close: let this socket go and start afresh.
      const dead = this.ws;
      this.ws = null;
      this.authed = false;
      clearInterval(this.pinger);
      dead.close(4000, "silent");
      this.onStatus("reconnecting");
      this.schedule(FIRST_DELAY);
      return;
    }
    this.send({ type: "ping" });
  }

  send(data) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(data));
    return true;
  }
}
