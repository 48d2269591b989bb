// Switchboard's browser client. Every piece of user data reaches the page
// through textContent or attributes, never through HTML parsing.
import { Api, ApiError, login, signup } from './api.js';
import { Link } from './socket.js';

const PAGE = 50;
const TYPING_EVERY = 3000;
const TYPING_SHOWN = 5000;

const $ = id => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

function randomId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
}

function loadJSON(storage, key, def) {
  try {
    const v = JSON.parse(storage.getItem(key));
    return v === null ? def : v;
  } catch (e) {
    return def;
  }
}

function saveJSON(storage, key, v) {
  try { storage.setItem(key, JSON.stringify(v)); } catch (e) { /* full or disabled */ }
}

// Each tab is its own device: the id lives in sessionStorage.
function deviceId() {
  let d = sessionStorage.getItem('sb.device');
  if (!d) {
    d = 'web-' + randomId().slice(0, 12);
    sessionStorage.setItem('sb.device', d);
  }
  return d;
}

function timeOf(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function lastSeenText(ts) {
  if (!ts) return 'offline';
  const ago = Date.now() - ts;
  if (ago < 60000) return 'last seen just now';
  if (ago < 3600000) return 'last seen ' + Math.floor(ago / 60000) + ' min ago';
  const d = new Date(ts);
  if (d.toDateString() === new Date().toDateString()) return 'last seen today at ' + timeOf(ts);
  return 'last seen ' + d.toLocaleDateString() + ' ' + timeOf(ts);
}

const TICKS = {
  pending: ['\u2026', 'Sending'],
  sent: ['\u2713', 'Sent'],
  delivered: ['\u2713\u2713', 'Delivered'],
  read: ['\u2713\u2713', 'Read'],
  failed: ['!', 'Not sent'],
};

// ---------------------------------------------------------------- session

/** Chat is one signed-in user's state and its view. */
class Chat {
  constructor(token, username) {
    this.me = username;
    this.api = new Api(token);
    this.convs = new Map(); // id -> conversation state
    this.presence = new Map(); // username -> {online, last_seen}
    this.watched = new Set();
    this.view = null; // {conv: id} or {peer: username} for a direct chat not yet started
    this.outboxKey = 'sb.outbox.' + username;
    this.outbox = loadJSON(localStorage, this.outboxKey, []);
    this.failed = [];
    this.peersKey = 'sb.receipts.' + username;
    this.savedPeers = loadJSON(localStorage, this.peersKey, {});
    this.syncing = false;
    this.syncAgain = false;
    this.lastTyping = 0;
    this.timers = {};
    this.link = new Link({
      token,
      device: deviceId(),
      onReady: () => this.onReady(),
      onFrame: f => this.onFrame(f),
      onState: s => this.onLinkState(s),
      onAuthFailed: () => signOut(false),
    });
  }

  async start() {
    $('me-name').textContent = this.me;
    try {
      this.mergeConversations(await this.api.conversations(), true);
    } catch (e) {
      if (e.status === 401) { signOut(false); return; }
    }
    this.renderList();
    this.renderView();
    this.link.start();
    this.loadAllMembers();
  }

  stop() {
    this.link.stop();
    for (const t of Object.values(this.timers)) clearTimeout(t);
    clearInterval(this.bannerTimer);
  }

  // later runs fn once, after ms, however often it is asked meanwhile.
  later(name, ms, fn) {
    if (this.timers[name]) return;
    this.timers[name] = setTimeout(() => { delete this.timers[name]; fn(); }, ms);
  }

  // ------------------------------------------------------------ state

  conv(id, cursorIfNew) {
    let c = this.convs.get(id);
    if (!c) {
      c = {
        id, kind: '', name: '', title: '', peer: '',
        last_seq: 0, read_seq: 0, delivered_seq: 0,
        cursor: cursorIfNew || 0, msgs: new Map(), oldest: Infinity, noMoreBefore: false,
        loaded: false, loading: false, members: null, typing: new Map(),
        peers: new Map(Object.entries(this.savedPeers[id] || {})), order: 0, bump: 0,
      };
      this.convs.set(id, c);
    }
    return c;
  }

  // mergeConversations takes a conversation list from the server; with
  // complete set it also drops conversations no longer listed (left).
  mergeConversations(list, complete) {
    const seen = new Set();
    list.forEach((w, i) => {
      const c = this.conv(w.id, w.read_seq);
      seen.add(w.id);
      c.kind = w.kind; c.name = w.name || ''; c.title = w.title || ''; c.peer = w.peer || '';
      c.last_seq = Math.max(c.last_seq, w.last_seq || 0);
      c.read_seq = Math.max(c.read_seq, w.read_seq || 0);
      c.delivered_seq = Math.max(c.delivered_seq, w.delivered_seq || 0);
      c.order = i;
      if (c.kind === 'direct' && c.peer) this.watch([c.peer]);
    });
    if (complete) {
      for (const id of [...this.convs.keys()]) if (!seen.has(id)) this.forget(id);
    }
    // A started direct chat now has its conversation: move the view there.
    if (this.view && this.view.peer) {
      const c = this.directWith(this.view.peer);
      if (c) this.view = { conv: c.id };
    }
  }

  forget(id) {
    this.convs.delete(id);
    if (this.view && this.view.conv === id) this.view = null;
  }

  directWith(peer) {
    for (const c of this.convs.values()) if (c.kind === 'direct' && c.peer === peer) return c;
    return null;
  }

  current() {
    return this.view && this.view.conv ? this.convs.get(this.view.conv) || null : null;
  }

  unread(c) { return Math.max(0, c.last_seq - c.read_seq); }

  // advance moves the cursor (highest contiguous seq seen) over what is held.
  advance(c) {
    while (c.msgs.has(c.cursor + 1)) c.cursor++;
  }

  peerPos(c, user) {
    let p = c.peers.get(user);
    if (!p) { p = [0, 0]; c.peers.set(user, p); }
    return p;
  }

  // The server tells receipts only as they happen, so the positions of the
  // other members are kept here to show ticks after a reload.
  savePeers() {
    this.later('savePeers', 500, () => this.savePeersNow());
  }

  savePeersNow() {
    const out = {};
    for (const c of this.convs.values()) if (c.peers.size) out[c.id] = Object.fromEntries(c.peers);
    this.savedPeers = out;
    saveJSON(localStorage, this.peersKey, out);
  }

  saveOutbox() { saveJSON(localStorage, this.outboxKey, this.outbox.map(({ sentOn, ...e }) => e)); }

  // others are the members whose receipts decide a message's ticks.
  others(c) {
    if (c.kind === 'direct') return c.peer && c.peer !== this.me ? [c.peer] : [];
    return (c.members || []).filter(u => u !== this.me);
  }

  statusOf(c, m) {
    const others = this.others(c);
    if (!others.length) return 'sent';
    let read = true, delivered = true;
    for (const u of others) {
      const [d, r] = c.peers.get(u) || [0, 0];
      if (r < m.seq) read = false;
      if (Math.max(d, r) < m.seq) delivered = false;
    }
    return read ? 'read' : delivered ? 'delivered' : 'sent';
  }

  watch(users) {
    const fresh = users.filter(u => u && u !== this.me && !this.watched.has(u));
    if (!fresh.length) return;
    fresh.forEach(u => this.watched.add(u));
    if (this.link.ready) this.subscribe(fresh);
  }

  subscribe(users) {
    this.link.request({ type: 'presence_subscribe', users }).then(ack => {
      for (const p of ack.presence || []) this.presence.set(p.user, { online: p.online, last_seen: p.last_seen });
      this.renderList();
      this.renderHead();
    }, () => {});
  }

  async loadMembers(c) {
    if (c.kind !== 'group' || !c.name) return;
    try {
      const ms = await this.api.members(c.name);
      c.members = ms.map(m => m.username);
      for (const m of ms) {
        const p = this.presence.get(m.username);
        if (!p || p.online !== m.online) this.presence.set(m.username, { online: m.online, last_seen: p ? p.last_seen : 0 });
      }
      this.watch(c.members);
      this.renderList();
      if (this.current() === c) { this.renderHead(); this.refreshTicks(); }
    } catch (e) { /* shown as unknown until the next try */ }
  }

  loadAllMembers() {
    for (const c of this.convs.values()) if (c.kind === 'group' && !c.members) this.loadMembers(c);
  }

  refreshConversations() {
    this.later('refresh', 150, async () => {
      try {
        this.mergeConversations(await this.api.conversations(), false);
        this.loadAllMembers();
        this.renderList();
        this.renderView();
      } catch (e) { /* the next sync tries again */ }
    });
  }

  // ------------------------------------------------------------ link events

  onLinkState(s) {
    $('me-dot').classList.toggle('online', s === 'online');
    this.renderBanner();
    this.renderList();
    this.renderHead();
    clearInterval(this.bannerTimer);
    if (s === 'offline') this.bannerTimer = setInterval(() => this.renderBanner(), 1000);
    $('composer').dataset.link = s;
  }

  async onReady() {
    for (const e of this.outbox) delete e.sentOn;
    await this.sync();
    if (this.watched.size) this.subscribe([...this.watched]);
    this.flushOutbox();
  }

  // sync asks for every message after our cursors; pushes come first, then the ack.
  async sync() {
    if (this.syncing) { this.syncAgain = true; return; }
    this.syncing = true;
    const cursors = {};
    for (const c of this.convs.values()) cursors[c.id] = c.cursor;
    try {
      const ack = await this.link.request({ type: 'sync', cursors });
      this.mergeConversations(ack.conversations || [], true);
      this.loadAllMembers();
      for (const c of this.convs.values()) {
        // At most 1000 a conversation come per sync: ask again for the rest.
        if (c.cursor < c.last_seq && c.cursor > (cursors[c.id] || 0)) this.syncAgain = true;
      }
      this.sendDelivered();
      this.markRead();
      this.renderList();
      this.renderView();
    } catch (e) {
      // The link dropped; the next ready syncs again.
    } finally {
      this.syncing = false;
      if (this.syncAgain) {
        this.syncAgain = false;
        if (this.link.ready) this.later('sync', 50, () => this.sync());
      }
      this.flushOutbox();
    }
  }

  onFrame(f) {
    switch (f.type) {
      case 'message': this.onMessage(f.message); break;
      case 'receipt': this.onReceipt(f); break;
      case 'presence':
        this.presence.set(f.user, { online: !!f.online, last_seen: f.last_seen || 0 });
        this.renderList();
        this.renderHead();
        break;
      case 'typing': this.onTyping(f); break;
      case 'member': this.onMember(f); break;
      case 'resync': this.sync(); break;
      case 'ack': if (f.id && f.id.startsWith('s:')) this.onSendAck(f.id.slice(2), f.message); break;
      case 'error': if (f.id && f.id.startsWith('s:')) this.onSendError(f.id.slice(2), f); break;
    }
  }

  // onMessage takes a message pushed, synced, acked or loaded from history.
  onMessage(m, fromHistory) {
    if (!m || !m.conversation || !m.seq) return;
    const fresh = !this.convs.has(m.conversation);
    const c = this.conv(m.conversation, m.seq - 1);
    if (fresh) this.refreshConversations();
    if (m.from === this.me && m.client_msg_id) this.dropFromOutbox(m.client_msg_id);
    if (c.msgs.has(m.seq)) return;
    c.msgs.set(m.seq, m);
    c.oldest = Math.min(c.oldest, m.seq);
    if (m.seq > c.last_seq) { c.last_seq = m.seq; c.bump = Date.now(); }
    // The sender's own positions move to what it sends.
    if (m.from === this.me) {
      c.read_seq = Math.max(c.read_seq, m.seq);
      c.delivered_seq = Math.max(c.delivered_seq, m.seq);
    } else {
      const p = this.peerPos(c, m.from);
      p[0] = Math.max(p[0], m.seq);
      p[1] = Math.max(p[1], m.seq);
      c.typing.delete(m.from);
      this.savePeers();
    }
    this.advance(c);
    if (!fromHistory) {
      if (m.seq > c.cursor + 1 && !this.syncing) this.later('sync', 100, () => this.sync());
      this.later('delivered', 150, () => this.sendDelivered());
      if (this.current() === c) {
        this.insertMessage(c, m, true);
        this.renderTyping();
        this.later('read', 100, () => this.markRead());
      }
      this.later('list', 30, () => this.renderList());
    }
  }

  onReceipt(f) {
    const c = this.convs.get(f.conversation);
    if (!c) return;
    if (f.user === this.me) {
      // Another of my devices moved my position.
      if (f.status === 'read') c.read_seq = Math.max(c.read_seq, f.seq);
      c.delivered_seq = Math.max(c.delivered_seq, f.seq);
      this.renderList();
      return;
    }
    const p = this.peerPos(c, f.user);
    if (f.status === 'read') p[1] = Math.max(p[1], f.seq);
    p[0] = Math.max(p[0], f.seq);
    this.savePeersNow();
    if (this.current() === c) this.refreshTicks();
  }

  onTyping(f) {
    const c = this.convs.get(f.conversation);
    if (!c || f.user === this.me) return;
    c.typing.set(f.user, Date.now() + TYPING_SHOWN);
    if (this.current() === c) {
      this.renderTyping();
      setTimeout(() => this.renderTyping(), TYPING_SHOWN + 50);
    }
  }

  onMember(f) {
    const c = this.convs.get(f.conversation);
    if (f.user === this.me) {
      // Another device of mine joined or left.
      if (f.event === 'left' && c) { this.forget(c.id); this.renderList(); this.renderView(); }
      else if (f.event === 'joined') this.refreshConversations();
      return;
    }
    if (!c) return;
    if (!c.members) { this.loadMembers(c); return; }
    if (f.event === 'joined' && !c.members.includes(f.user)) c.members.push(f.user);
    if (f.event === 'left') c.members = c.members.filter(u => u !== f.user);
    this.watch([f.user]);
    this.renderList();
    if (this.current() === c) {
      this.renderHead();
      this.refreshTicks();
      this.insertNotice(c, f.user + (f.event === 'joined' ? ' joined' : ' left'));
    }
  }

  // ------------------------------------------------------------ receipts

  sendDelivered() {
    if (!this.link.ready) return;
    for (const c of this.convs.values()) {
      if (c.cursor > c.delivered_seq) {
        c.delivered_seq = c.cursor;
        this.link.request({ type: 'receipt', conversation: c.id, seq: c.cursor, status: 'delivered' }).catch(() => {});
      }
    }
  }

  // markRead reads the open conversation when the user can see it.
  markRead() {
    const c = this.current();
    if (!c || !this.link.ready) return;
    if (document.visibilityState !== 'visible' || !document.hasFocus()) return;
    if (isNarrow() && !$('app').classList.contains('show-conv')) return;
    const seq = c.cursor;
    const prev = c.read_seq;
    if (seq > prev) {
      c.read_seq = seq;
      c.delivered_seq = Math.max(c.delivered_seq, seq);
      this.link.request({ type: 'receipt', conversation: c.id, seq, status: 'read' }).catch(() => {
        // Not recorded: let the next markRead try again.
        if (c.read_seq === seq) c.read_seq = prev;
      });
      this.renderList();
    }
  }

  // ------------------------------------------------------------ sending

  submit(text) {
    if (!text.trim() || !this.view) return;
    const e = { cmid: randomId(), text, ts: Date.now() };
    if (this.view.conv) e.conv = this.view.conv;
    else e.to = this.view.peer;
    this.outbox.push(e);
    this.saveOutbox();
    this.insertPending(e);
    this.scrollToBottom();
    this.flushOutbox();
  }

  // flushOutbox sends what waits, in order, once per connection; a retry
  // carries the same client_msg_id, so the server stores it once.
  flushOutbox() {
    // While a sync runs the outbox waits, so retries keep their order.
    if (!this.link.ready || this.syncing) return;
    const gen = this.link.ws;
    for (const e of this.outbox) {
      if (e.sentOn === gen || (e.retryAt && e.retryAt > Date.now())) continue;
      const f = { type: 'send', id: 's:' + e.cmid, client_msg_id: e.cmid, text: e.text };
      if (e.conv) f.conversation = e.conv;
      else f.to_user = e.to;
      if (this.link.send(f)) e.sentOn = gen;
    }
  }

  dropFromOutbox(cmid) {
    const i = this.outbox.findIndex(e => e.cmid === cmid);
    if (i < 0) return null;
    const [e] = this.outbox.splice(i, 1);
    this.saveOutbox();
    const li = document.querySelector('li.msg.pending[data-cmid="' + CSS.escape(cmid) + '"]');
    if (li) li.remove();
    return e;
  }

  onSendAck(cmid, m) {
    const e = this.dropFromOutbox(cmid);
    if (!m) return;
    const wasPeer = e && e.to && this.view && this.view.peer === e.to;
    this.onMessage(m);
    if (wasPeer) {
      this.view = { conv: m.conversation };
      this.refreshConversations();
      this.renderView();
    }
  }

  onSendError(cmid, f) {
    const e = this.outbox.find(x => x.cmid === cmid);
    if (!e) return;
    if (['rate_limited', 'unavailable', 'internal'].includes(f.code)) {
      // Try again on this connection after a pause.
      e.sentOn = null;
      e.retryAt = Date.now() + (f.code === 'rate_limited' ? 1000 : 3000);
      setTimeout(() => this.flushOutbox(), e.retryAt - Date.now() + 10);
      return;
    }
    this.dropFromOutbox(cmid);
    e.error = f.message || f.code;
    this.failed.push(e);
    if (this.viewHas(e)) this.insertPending(e);
    showError('side-error', 'Message not sent: ' + e.error);
  }

  viewHas(e) {
    if (!this.view) return false;
    const c = this.current();
    if (this.view.conv && e.conv === this.view.conv) return true;
    const peer = this.view.peer || (c && c.kind === 'direct' ? c.peer : '');
    return !!peer && e.to === peer;
  }

  typing() {
    const c = this.current();
    if (!c || !this.link.ready) return;
    const now = Date.now();
    if (now - this.lastTyping < TYPING_EVERY) return;
    this.lastTyping = now;
    this.link.send({ type: 'typing', conversation: c.id });
  }

  // ------------------------------------------------------------ history

  async loadLatest(c) {
    if (c.loading) return;
    c.loading = true;
    this.renderHistoryNote(c);
    try {
      const ms = await this.api.history(c.id, { limit: PAGE });
      for (const m of ms) this.onMessage(m, true);
      c.loaded = true;
      if (ms.length < PAGE || c.oldest <= 1) c.noMoreBefore = true;
    } catch (e) {
      showError('side-error', 'Could not load messages: ' + e.message);
    } finally {
      c.loading = false;
    }
    if (this.current() === c) {
      this.renderMessages();
      this.scrollToBottom();
      this.markRead();
      this.fillScreen(c);
    }
  }

  async loadOlder(c) {
    if (c.loading || c.noMoreBefore || !c.loaded) return;
    c.loading = true;
    this.renderHistoryNote(c);
    const before = c.oldest;
    let ms = [];
    try {
      ms = await this.api.history(c.id, { before, limit: PAGE });
    } catch (e) {
      showError('side-error', 'Could not load older messages: ' + e.message);
    } finally {
      c.loading = false;
    }
    for (const m of ms) this.onMessage(m, true);
    if (ms.length < PAGE || c.oldest <= 1) c.noMoreBefore = true;
    if (this.current() !== c) return;
    const sc = $('scroller');
    const fromBottom = sc.scrollHeight - sc.scrollTop;
    const list = $('messages');
    const first = list.firstChild;
    for (const m of ms) list.insertBefore(this.messageItem(c, m), first);
    sc.scrollTop = sc.scrollHeight - fromBottom;
    this.renderHistoryNote(c);
    this.fillScreen(c);
  }

  // fillScreen loads older pages until the list can scroll.
  fillScreen(c) {
    const sc = $('scroller');
    if (this.current() === c && !c.noMoreBefore && sc.scrollHeight <= sc.clientHeight + 10) this.loadOlder(c);
  }

  // ------------------------------------------------------------ actions

  open(view) {
    this.view = view;
    this.renderView();
    $('app').classList.add('show-conv');
    const c = this.current();
    if (c && !c.loaded) this.loadLatest(c);
    if (c && c.kind === 'group' && !c.members) this.loadMembers(c);
    this.markRead();
    $('compose').focus();
  }

  async startDirect(name) {
    name = name.trim().toLowerCase();
    if (!name) return;
    const existing = this.directWith(name);
    if (existing) { this.open({ conv: existing.id }); return; }
    try {
      const u = await this.api.user(name);
      this.presence.set(u.username, { online: !!u.online, last_seen: u.last_seen || 0 });
      this.watch([u.username]);
      this.open({ peer: u.username });
      $('dm-user').value = '';
    } catch (e) {
      showError('side-error', e.status === 404 ? 'There is no user named ' + name + '.' : e.message);
    }
  }

  async group(name, create) {
    name = name.trim().toLowerCase();
    if (!name) return;
    try {
      const w = create ? await this.api.createGroup(name) : await this.api.joinGroup(name);
      this.mergeConversations([w], false);
      const c = this.conv(w.id);
      c.cursor = Math.max(c.cursor, w.last_seq || 0);
      $('group-name').value = '';
      this.loadMembers(c);
      this.renderList();
      this.open({ conv: c.id });
    } catch (e) {
      if (create && e.code === 'conflict') showError('side-error', 'The group ' + name + ' exists already: use Join.');
      else if (e.code === 'not_found') showError('side-error', 'There is no group named ' + name + '.');
      else showError('side-error', e.message);
    }
  }

  async leave() {
    const c = this.current();
    if (!c || c.kind !== 'group') return;
    try {
      await this.api.leaveGroup(c.name);
      this.forget(c.id);
      this.renderList();
      this.renderView();
      $('app').classList.remove('show-conv');
      $('dm-user').focus();
    } catch (e) {
      showError('side-error', e.message);
    }
  }

  // ------------------------------------------------------------ rendering

  renderBanner() {
    const b = $('banner');
    const s = this.link.state;
    if (s === 'online') { b.hidden = true; b.replaceChildren(); return; }
    b.hidden = false;
    if (s === 'connecting') {
      b.replaceChildren(el('span', '', 'Connecting\u2026'));
      return;
    }
    const secs = Math.max(0, Math.ceil((this.link.retryAt - Date.now()) / 1000));
    const btn = el('button', '', 'Retry now');
    btn.type = 'button';
    btn.addEventListener('click', () => this.link.retryNow());
    b.replaceChildren(el('span', '', 'Offline. Reconnecting in ' + secs + 's\u2026'), btn);
  }

  displayName(c) {
    if (c.kind === 'direct') return c.peer || 'direct';
    return c.title || c.name || 'group';
  }

  renderList() {
    const ul = $('conv-list');
    const focused = document.activeElement && document.activeElement.closest('#conv-list li');
    const focusedId = focused ? focused.dataset.convId : null;
    const live = this.link.state === 'online';
    const cs = [...this.convs.values()].filter(c => c.kind)
      .sort((a, b) => (b.bump - a.bump) || (a.order - b.order));
    const items = cs.map(c => {
      const li = el('li');
      li.dataset.convId = c.id;
      li.dataset.kind = c.kind;
      const btn = el('button');
      btn.type = 'button';
      const dot = el('span', 'dot');
      dot.setAttribute('aria-hidden', 'true');
      let online = false;
      if (!live) online = false;
      else if (c.kind === 'direct') online = !!(this.presence.get(c.peer) || {}).online;
      else online = this.others(c).some(u => (this.presence.get(u) || {}).online);
      dot.classList.toggle('online', online);
      const name = el('span', 'conv-name', this.displayName(c));
      const kind = el('span', 'kind', c.kind === 'group' ? 'group' : '');
      btn.append(dot, name, kind);
      const n = this.unread(c);
      if (n > 0) btn.append(el('span', 'unread', String(n)));
      btn.setAttribute('aria-label', this.displayName(c) + (c.kind === 'group' ? ', group' : '') +
        (online ? ', online' : '') + (n ? ', ' + n + ' unread' : ''));
      if (this.view && this.view.conv === c.id) btn.setAttribute('aria-current', 'true');
      btn.addEventListener('click', () => this.open({ conv: c.id }));
      li.append(btn);
      return li;
    });
    ul.replaceChildren(...items);
    if (focusedId) {
      const li = ul.querySelector('li[data-conv-id="' + CSS.escape(focusedId) + '"] button');
      if (li) li.focus();
    }
    const total = cs.reduce((s, c) => s + this.unread(c), 0);
    document.title = (total ? '(' + total + ') ' : '') + 'Switchboard';
  }

  renderView() {
    const c = this.current();
    const has = !!(c || (this.view && this.view.peer));
    $('composer').hidden = !has;
    $('empty').hidden = has;
    $('leave').hidden = !(c && c.kind === 'group');
    this.renderHead();
    this.renderMessages();
    this.renderTyping();
    this.scrollToBottom();
  }

  renderHead() {
    const c = this.current();
    const title = $('conv-title');
    const status = $('conv-status');
    if (!this.view) { title.textContent = 'No conversation'; status.textContent = ''; return; }
    const peer = c ? (c.kind === 'direct' ? c.peer : '') : this.view.peer;
    if (peer) {
      title.textContent = peer;
      const p = this.presence.get(peer);
      // While disconnected, presence is unknown rather than stale.
      status.textContent = !p || this.link.state !== 'online' ? '' : p.online ? 'online' : lastSeenText(p.last_seen);
      return;
    }
    title.textContent = this.displayName(c);
    const ms = c.members || [];
    const on = ms.filter(u => u === this.me || (this.presence.get(u) || {}).online).length;
    const live = this.link.state === 'online';
    status.textContent = !ms.length ? 'group' : ms.length + ' members' + (live ? ', ' + on + ' online' : '');
  }

  renderTyping() {
    const c = this.current();
    const p = $('typing');
    if (!c) { p.textContent = ''; return; }
    const now = Date.now();
    const who = [...c.typing].filter(([, until]) => until > now).map(([u]) => u);
    const text = who.length === 0 ? '' : who.length === 1 ? who[0] + ' is typing\u2026' : who.join(', ') + ' are typing\u2026';
    if (p.textContent !== text) p.textContent = text;
  }

  renderHistoryNote(c) {
    const note = $('history-note');
    if (this.current() !== c) return;
    note.textContent = c.loading ? 'Loading\u2026' : c.noMoreBefore ? (c.msgs.size ? 'Beginning of the conversation' : 'No messages yet') : '';
  }

  renderMessages() {
    const list = $('messages');
    list.setAttribute('aria-busy', 'true');
    list.replaceChildren();
    const c = this.current();
    if (c) {
      const seqs = [...c.msgs.keys()].sort((a, b) => a - b);
      list.append(...seqs.map(s => this.messageItem(c, c.msgs.get(s))));
      this.renderHistoryNote(c);
    } else {
      $('history-note').textContent = this.view && this.view.peer ? 'Say hello to ' + this.view.peer + '.' : '';
    }
    for (const e of this.outbox) if (this.viewHas(e)) list.append(this.pendingItem(e, 'pending'));
    for (const e of this.failed) if (this.viewHas(e)) list.append(this.pendingItem(e, 'failed'));
    list.removeAttribute('aria-busy');
  }

  messageItem(c, m) {
    const mine = m.from === this.me;
    const li = el('li', 'msg' + (mine ? ' mine' : ''));
    li.dataset.seq = String(m.seq);
    li.dataset.id = m.id;
    li.dataset.from = m.from;
    if (c.kind === 'group' && !mine) li.append(el('div', 'from', m.from));
    let text = m.text || '';
    if (m.media) text = (text ? text + '\n' : '') + '[attachment: ' + m.media.content_type + ', ' + m.media.size + ' bytes]';
    li.append(el('div', 'text', text));
    const meta = el('div', 'meta');
    const t = el('time', '', timeOf(m.ts));
    t.dateTime = new Date(m.ts).toISOString();
    t.title = new Date(m.ts).toLocaleString();
    meta.append(t);
    if (mine) {
      const tick = el('span', 'tick');
      meta.append(tick);
      this.setTick(li, tick, this.statusOf(c, m));
    }
    li.append(meta);
    return li;
  }

  pendingItem(e, status) {
    const li = el('li', 'msg mine pending');
    li.dataset.cmid = e.cmid;
    li.append(el('div', 'text', e.text));
    const meta = el('div', 'meta');
    meta.append(el('time', '', timeOf(e.ts)));
    const tick = el('span', 'tick');
    meta.append(tick);
    this.setTick(li, tick, status);
    if (e.error) li.title = e.error;
    li.append(meta);
    return li;
  }

  setTick(li, tick, status) {
    if (li.dataset.status === status) return;
    li.dataset.status = status;
    tick.textContent = TICKS[status][0];
    tick.setAttribute('aria-label', TICKS[status][1]);
    tick.title = TICKS[status][1];
  }

  refreshTicks() {
    const c = this.current();
    if (!c) return;
    for (const li of $('messages').querySelectorAll('li.msg.mine[data-seq]')) {
      const m = c.msgs.get(Number(li.dataset.seq));
      if (m) this.setTick(li, li.querySelector('.tick'), this.statusOf(c, m));
    }
  }

  nearBottom() {
    const sc = $('scroller');
    return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80;
  }

  scrollToBottom() {
    const sc = $('scroller');
    sc.scrollTop = sc.scrollHeight;
  }

  // insertMessage puts m in seq order, before the pending ones.
  insertMessage(c, m, live) {
    const list = $('messages');
    const stick = this.nearBottom() || m.from === this.me;
    const li = this.messageItem(c, m);
    let after = list.lastElementChild;
    while (after && (after.classList.contains('pending') || Number(after.dataset.seq) > m.seq)) {
      after = after.previousElementSibling;
    }
    if (after) after.after(li);
    else list.prepend(li);
    if (live && stick) this.scrollToBottom();
    this.renderHistoryNote(c);
  }

  insertPending(e) {
    if (!this.viewHas(e)) return;
    $('messages').append(this.pendingItem(e, e.error ? 'failed' : 'pending'));
    $('history-note').textContent = '';
  }

  // insertNotice shows an event (a member joined or left) after the last
  // message so far; later messages go below it.
  insertNotice(c, text) {
    const li = el('li', 'notice muted center', text);
    li.dataset.seq = String(c.last_seq + 0.5);
    const list = $('messages');
    const pending = list.querySelector('li.pending');
    list.insertBefore(li, pending);
    if (this.nearBottom()) this.scrollToBottom();
  }
}

// ---------------------------------------------------------------- shell

let chat = null;

function isNarrow() { return window.matchMedia('(max-width: 700px)').matches; }

function showError(id, text) {
  const p = $(id);
  p.textContent = text;
  clearTimeout(p._t);
  p._t = setTimeout(() => { p.textContent = ''; }, 8000);
}

function signIn(token, username) {
  saveJSON(localStorage, 'sb.session', { token, username });
  $('login').hidden = true;
  $('app').hidden = false;
  chat = new Chat(token, username);
  chat.start();
}

async function signOut(callServer) {
  const c = chat;
  chat = null;
  localStorage.removeItem('sb.session');
  if (c) {
    c.stop();
    if (callServer) {
      localStorage.removeItem(c.outboxKey);
      try { await c.api.logout(); } catch (e) { /* the token is dropped here anyway */ }
    }
  }
  $('conv-list').replaceChildren();
  $('messages').replaceChildren();
  $('banner').hidden = true;
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-username').focus();
}

function wire() {
  const form = $('login-form');
  const busy = on => { for (const b of form.querySelectorAll('button')) b.disabled = on; };
  const credentials = () => [$('login-username').value.trim().toLowerCase(), $('login-password').value];
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const [u, p] = credentials();
    busy(true);
    try {
      const r = await login(u, p);
      $('login-password').value = '';
      signIn(r.token, r.user.username);
    } catch (e) {
      $('login-error').textContent = e.status === 401 ? 'Wrong username or password.' : e.message;
    } finally { busy(false); }
  });
  $('signup-submit').addEventListener('click', async () => {
    if (!form.reportValidity()) return;
    const [u, p] = credentials();
    busy(true);
    try {
      await signup(u, p, $('login-display').value.trim());
      const r = await login(u, p);
      $('login-password').value = '';
      signIn(r.token, r.user.username);
    } catch (e) {
      $('login-error').textContent = e.code === 'conflict' ? 'That username is taken.' : e.message;
    } finally { busy(false); }
  });

  $('logout').addEventListener('click', () => signOut(true));
  $('dm-form').addEventListener('submit', ev => { ev.preventDefault(); chat && chat.startDirect($('dm-user').value); });
  $('group-form').addEventListener('submit', ev => { ev.preventDefault(); chat && chat.group($('group-name').value, true); });
  $('group-join').addEventListener('click', () => { if ($('group-form').reportValidity()) chat && chat.group($('group-name').value, false); });
  $('leave').addEventListener('click', () => chat && chat.leave());
  $('back').addEventListener('click', () => {
    $('app').classList.remove('show-conv');
    const cur = document.querySelector('#conv-list button[aria-current="true"]');
    (cur || $('dm-user')).focus();
  });

  const compose = $('compose');
  const autosize = () => { compose.style.height = 'auto'; compose.style.height = compose.scrollHeight + 'px'; };
  $('composer').addEventListener('submit', ev => {
    ev.preventDefault();
    if (!chat) return;
    // Blank lines around a message are dropped; lines inside it are kept.
    const text = compose.value.replace(/^\s*\n|\s+$/g, '');
    if (!text.trim()) return;
    chat.submit(text);
    compose.value = '';
    autosize();
  });
  // Enter sends, Shift+Enter breaks the line. Some input paths deliver the
  // Enter's line break after its keydown, so it is swallowed until keyup.
  let sentOnEnter = false;
  compose.addEventListener('keydown', ev => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      sentOnEnter = true;
      $('composer').requestSubmit();
    }
  });
  compose.addEventListener('keyup', ev => { if (ev.key === 'Enter') sentOnEnter = false; });
  compose.addEventListener('beforeinput', ev => {
    if (sentOnEnter && (ev.inputType === 'insertLineBreak' || ev.inputType === 'insertParagraph')) ev.preventDefault();
  });
  compose.addEventListener('input', () => { autosize(); if (chat) chat.typing(); });

  $('scroller').addEventListener('scroll', () => {
    const c = chat && chat.current();
    if (c && $('scroller').scrollTop < 100) chat.loadOlder(c);
  });

  const seen = () => { if (chat) chat.markRead(); };
  document.addEventListener('visibilitychange', seen);
  window.addEventListener('focus', seen);
  window.addEventListener('online', () => chat && chat.link.retryNow());
  window.addEventListener('pagehide', () => chat && chat.savePeersNow());

  const saved = loadJSON(localStorage, 'sb.session', null);
  if (saved && saved.token && saved.username) signIn(saved.token, saved.username);
  else { $('login').hidden = false; $('login-username').focus(); }
}

wire();
