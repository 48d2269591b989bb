// Notifications in the browser: the service worker, the opt-in button
// (permission is only ever asked from a click, never on load), the push
// subscription, and the per-conversation bell that sets the level.
import { call } from './api.js';
import { $, loadJSON, saveJSON } from './util.js';

const supported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

/** takeOpenRequest makes a tab opened from a notification (/?conv=ID) open
 * that conversation, as a reload reopens the last one. */
export function takeOpenRequest() {
  const conv = new URLSearchParams(location.search).get('conv');
  if (!conv) return;
  saveJSON(sessionStorage, 'sb.view', { conv });
  history.replaceState(null, '', '/');
}

function b64urlToBytes(s) {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4));
  return Uint8Array.from(b, ch => ch.charCodeAt(0));
}

/** Notifier wires the notification controls of one signed-in user. */
export class Notifier {
  constructor(chat) {
    this.chat = chat;
    this.token = chat.api.token;
    this.reg = null;
    this.stopped = false;
    this.onClick = () => this.enable();
    this.onBell = () => this.setLevel();
    this.onMessage = ev => {
      if (ev.data && ev.data.type === 'open' && ev.data.conversation && !this.stopped) {
        this.chat.open({ conv: ev.data.conversation });
      }
    };
    // The bell follows the open conversation (a new direct chat gets its
    // id with its first message, so the id is watched, not the title).
    this.shownFor = undefined;
    this.timer = 0;
  }

  watchCurrent() {
    const c = this.chat.current();
    const id = c ? c.id : null;
    if (id !== this.shownFor) { this.shownFor = id; this.loadLevel(); }
  }

  async start() {
    $('bell').addEventListener('change', this.onBell);
    this.timer = setInterval(() => this.watchCurrent(), 300);
    this.watchCurrent();
    const btn = $('notify');
    if (!supported()) return;
    navigator.serviceWorker.addEventListener('message', this.onMessage);
    try {
      this.reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    } catch (e) {
      return; // no notifications in this browser; chat works on
    }
    // Push may be off on the server (404): then there is nothing to offer.
    try { await call('GET', '/v1/push/key', { token: this.token }); } catch (e) { return; }
    if (this.stopped) return;
    btn.addEventListener('click', this.onClick);
    const sub = await this.reg.pushManager.getSubscription().catch(() => null);
    this.show(sub && Notification.permission === 'granted' ? 'on' : 'off');
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    $('bell').removeEventListener('change', this.onBell);
    $('notify').removeEventListener('click', this.onClick);
    $('notify').hidden = true;
    $('bell').hidden = true;
    if (supported()) navigator.serviceWorker.removeEventListener('message', this.onMessage);
  }

  show(state, detail) {
    const btn = $('notify');
    btn.hidden = false;
    btn.dataset.state = state;
    btn.textContent = state === 'on' ? 'Notifications on' : state === 'busy' ? 'Enabling\u2026' : 'Enable notifications';
    btn.disabled = state === 'busy' || state === 'on';
    $('notify-error').textContent = detail || '';
  }

  // enable runs from the button's click: the permission prompt, then the
  // subscription, then the server learns it.
  async enable() {
    this.show('busy');
    try {
      const perm = await Notification.requestPermission();
      if (perm !== 'granted') { this.show('off', 'Notifications are blocked in this browser.'); return; }
      const { public_key: key } = await call('GET', '/v1/push/key', { token: this.token });
      let sub = await this.reg.pushManager.getSubscription();
      if (!sub) {
        sub = await this.reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(key) });
      }
      const j = sub.toJSON();
      await call('POST', '/v1/push/subscriptions', {
        token: this.token,
        body: { endpoint: j.endpoint, keys: { p256dh: j.keys.p256dh, auth: j.keys.auth }, device: this.device() },
      });
      this.show('on');
    } catch (e) {
      this.show('off', 'Could not turn notifications on: ' + (e.message || e));
    }
  }

  device() {
    let d = loadJSON(localStorage, 'sb.push-device', null);
    if (!d) {
      d = 'browser-' + Math.random().toString(36).slice(2, 10);
      saveJSON(localStorage, 'sb.push-device', d);
    }
    return d;
  }

  async loadLevel() {
    const c = this.chat.current();
    const bell = $('bell');
    if (!c || this.stopped) { bell.hidden = true; return; }
    try {
      const s = await call('GET', '/v1/conversations/' + encodeURIComponent(c.id) + '/notifications', { token: this.token });
      if (this.chat.current() !== c) return;
      bell.value = s.muted_until && s.muted_until > Date.now() ? 'mute' : s.level;
      bell.hidden = false;
    } catch (e) {
      bell.hidden = true; // push off on the server, or not a member any more
    }
  }

  async setLevel() {
    const c = this.chat.current();
    if (!c) return;
    const v = $('bell').value;
    const body = v === 'mute' ? { level: 'all', muted_until: Date.now() + 8 * 3600 * 1000 } : { level: v };
    try {
      await call('PUT', '/v1/conversations/' + encodeURIComponent(c.id) + '/notifications', { token: this.token, body });
    } catch (e) {
      $('notify-error').textContent = 'Could not change notifications: ' + e.message;
    }
  }
}
