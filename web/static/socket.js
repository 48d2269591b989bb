// The WebSocket link: auth handshake, request/ack matching, heartbeats, and
// reconnection with exponential backoff and jitter.
import { ApiError } from './api.js';

const PING_EVERY = 20000;
const PONG_WAIT = 10000;
const MAX_BACKOFF = 15000;

/** Link keeps one authenticated WebSocket open, reconnecting after drops.
 *
 * Hooks: onReady(readyFrame) after each (re)connect, onFrame(frame) for pushed
 * frames and for acks/errors nobody awaits, onState(state) with 'connecting',
 * 'online' or 'offline', onAuthFailed() when the token is refused. */
export class Link {
  constructor({ token, device, onReady, onFrame, onState, onAuthFailed }) {
    Object.assign(this, { token, device, onReady, onFrame, onState, onAuthFailed });
    this.ws = null;
    this.ready = false;
    this.stopped = true;
    this.attempt = 0;
    this.retriedAtOnce = false;
    this.timer = 0;
    this.pingTimer = 0;
    this.retryAt = 0;
    this.pending = new Map();
    this.seq = 0;
    this.state = 'offline';
  }

  url() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/ws';
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.teardown(1000, 'bye');
  }

  setState(s) {
    this.state = s;
    this.onState(s);
  }

  connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.schedule(false);
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify({ type: 'auth', id: 'auth', token: this.token, device: this.device }));
    };
    ws.onmessage = ev => {
      if (this.ws !== ws) return;
      let f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (!f || typeof f.type !== 'string') return;
      if (!this.ready) {
        if (f.type === 'ready') {
          this.ready = true;
          this.attempt = 0;
          this.retriedAtOnce = false;
          this.setState('online');
          this.heartbeat();
          this.onReady(f);
        } else if (f.type === 'error' && f.code === 'unauthorized') {
          this.authFailed();
        }
        return;
      }
      if ((f.type === 'ack' || f.type === 'error' || f.type === 'pong') && f.id && this.pending.has(f.id)) {
        const p = this.pending.get(f.id);
        this.pending.delete(f.id);
        if (f.type === 'error') p.reject(new ApiError(0, f.code, f.message));
        else p.resolve(f);
        return;
      }
      if (f.type === 'reconnect') {
        // The node drains: leave now and come back (to it or another) soon.
        this.teardown(1000, 'reconnecting');
        this.schedule(true);
        return;
      }
      this.onFrame(f);
    };
    ws.onclose = ev => {
      if (this.ws !== ws) return;
      this.teardown();
      if (ev.code === 4001 || ev.code === 4002) {
        this.authFailed();
        return;
      }
      if (!opened && !this.retriedAtOnce) {
        // The dial failed: the node behind the balancer may have died.
        // Try again at once (the balancer picks another node); back off
        // only if that fails too.
        this.retriedAtOnce = true;
        this.setState('offline');
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.connect(), 0);
        return;
      }
      this.schedule(false);
    };
    ws.onerror = () => {}; // onclose follows and reconnects
  }

  authFailed() {
    this.stopped = true;
    this.teardown(1000, 'auth failed');
    this.onAuthFailed();
  }

  // teardown forgets the current socket, failing the requests it carried.
  teardown(code, reason) {
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    clearInterval(this.pingTimer);
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(code || 1000, reason || ''); } catch (e) { /* already closed */ }
    }
    const pending = this.pending;
    this.pending = new Map();
    for (const p of pending.values()) p.reject(new ApiError(0, 'unavailable', 'connection lost'));
  }

  // schedule plans the next attempt: exponential backoff with jitter, so a
  // restarted node is not hit by every client at the same instant.
  schedule(soon) {
    if (this.stopped) return;
    const base = soon ? 400 : Math.min(MAX_BACKOFF, 500 * 2 ** this.attempt);
    this.attempt++;
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    this.retryAt = Date.now() + delay;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
    this.setState('offline');
  }

  /** retryNow skips the wait of a planned attempt. */
  retryNow() {
    if (this.stopped || this.state !== 'offline') return;
    this.connect();
  }

  heartbeat() {
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.pingTimer = setInterval(() => {
      const t = setTimeout(() => { if (this.ws === ws) ws.close(); }, PONG_WAIT);
      this.request({ type: 'ping' }).then(() => clearTimeout(t), () => clearTimeout(t));
    }, PING_EVERY);
  }

  /** send writes a frame if the link is up and returns whether it did. */
  send(frame) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** request sends a frame with a fresh id and resolves with its ack. */
  request(frame) {
    const id = 'q' + (++this.seq);
    return new Promise((resolve, reject) => {
      if (!this.send({ ...frame, id })) {
        reject(new ApiError(0, 'unavailable', 'not connected'));
        return;
      }
      this.pending.set(id, { resolve, reject });
    });
  }
}
