// One signed-in user's chat: conversations, cursors, outbox, receipts and
// presence, kept in step with the server over HTTP and the WebSocket.
import { Api } from './api.js';
import { Link } from './socket.js';
import { $, deviceId, isNarrow, loadJSON, randomId, saveJSON, showError } from './util.js';
import { Groups } from './groups.js';
import { LifeView } from './life.js';

const PAGE = 50;
const TYPING_EVERY = 3000;
const TYPING_SHOWN = 5000;

/** Chat is one signed-in user's state; onSignedOut runs when the server
 * refuses the session. */
export class Chat extends LifeView {
  constructor(token, username, onSignedOut) {
    super();
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
      onAuthFailed: () => onSignedOut(),
    });
    this.groups = new Groups(this);
  }

  async start() {
    $('me-name').textContent = this.me;
    try {
      this.mergeConversations(await this.api.conversations(), true);
    } catch (e) {
      if (e.status === 401) { this.link.onAuthFailed(); return; }
    }
    // Reopen what this tab had open before a reload; if the server cannot
    // be reached yet, the first sync fills it in.
    const saved = loadJSON(sessionStorage, 'sb.view', null);
    if (saved && (saved.conv || saved.peer)) {
      this.view = saved;
      $('app').classList.add('show-conv');
      const c = this.current();
      if (c) this.loadLatest(c);
    }
    this.renderList();
    this.renderView();
    this.link.start();
    this.loadAllMembers();
    this.groups.wire();
  }

  stop() {
    this.link.stop();
    for (const t of Object.values(this.timers)) clearTimeout(t);
    clearInterval(this.bannerTimer);
    clearTimeout(this.typingTimer);
    for (const p of (this.blobs || new Map()).values()) p.then(u => URL.revokeObjectURL(u), () => {});
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
        cursor: cursorIfNew || 0, rev: 0, revAhead: new Set(), unread_mentions: 0, msgs: new Map(), oldest: Infinity, noMoreBefore: false,
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
      c.description = w.description || ''; c.visibility = w.visibility || ''; c.history = w.history || ''; c.role = w.role || '';
      c.last_seq = Math.max(c.last_seq, w.last_seq || 0);
      c.read_seq = Math.max(c.read_seq, w.read_seq || 0);
      c.delivered_seq = Math.max(c.delivered_seq, w.delivered_seq || 0);
      c.unread_mentions = w.unread_mentions || 0;
      c.order = i;
      if (c.kind === 'direct' && c.peer) this.watch([c.peer]);
    });
    if (complete) {
      for (const id of [...this.convs.keys()]) if (!seen.has(id)) this.forget(id);
    }
    // A started direct chat now has its conversation: move the view there.
    if (this.view && this.view.peer) {
      const c = this.directWith(this.view.peer);
      if (c) this.setView({ conv: c.id });
    }
  }

  // setView records what is open; the tab reopens it after a reload.
  setView(view) {
    this.view = view;
    if (view) saveJSON(sessionStorage, 'sb.view', view);
    else sessionStorage.removeItem('sb.view');
  }

  forget(id) {
    this.convs.delete(id);
    if (this.view && this.view.conv === id) this.setView(null);
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

  // loadMembers reads a conversation's members with their positions: the
  // server's positions move the ticks forward (receipts made while this tab
  // was closed), never back.
  async loadMembers(c) {
    try {
      const ms = await this.api.conversationMembers(c.id);
      if (c.kind === 'group') c.members = ms.map(m => m.username);
      let moved = false;
      for (const m of ms) {
        const p = this.presence.get(m.username);
        if (!p || p.online !== m.online) this.presence.set(m.username, { online: m.online, last_seen: p ? p.last_seen : 0 });
        if (m.username === this.me) continue;
        const pos = this.peerPos(c, m.username);
        if (m.delivered_seq > pos[0]) { pos[0] = m.delivered_seq; moved = true; }
        if (m.read_seq > pos[1]) { pos[1] = m.read_seq; moved = true; }
      }
      if (moved) this.savePeers();
      this.watch(ms.map(m => m.username));
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
    this.groups.relinked();
    this.flushOutbox();
  }

  // sync asks for every message after our cursors; pushes come first, then the ack.
  async sync() {
    if (this.syncing) { this.syncAgain = true; return; }
    this.syncing = true;
    const cursors = {};
    const revs = {};
    for (const c of this.convs.values()) { cursors[c.id] = c.cursor; revs[c.id] = c.rev; }
    try {
      const ack = await this.link.request({ type: 'sync', cursors, revs });
      this.mergeConversations(ack.conversations || [], true);
      for (const w of ack.conversations || []) this.startRev(this.conv(w.id), w.last_rev || 0);
      this.loadAllMembers();
      const cur = this.current();
      if (cur && !cur.loaded) this.loadLatest(cur);
      for (const c of this.convs.values()) {
        // At most 1000 a conversation come per sync: ask again for the rest.
        if (c.cursor < c.last_seq && c.cursor > (cursors[c.id] || 0)) this.syncAgain = true;
      }
      this.sendDelivered();
      this.markRead();
      this.renderList();
      this.renderView();
    } catch (e) {
      // A dropped link syncs again on the next ready. A sync the server
      // refused may also have lost the live pushes it held back: try again.
      if (this.link.ready) this.later('sync', 1000, () => this.sync());
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
      case 'update': this.onUpdate(f); break;
      case 'receipt': this.onReceipt(f); break;
      case 'presence':
        this.presence.set(f.user, { online: !!f.online, last_seen: f.last_seen || 0 });
        this.renderList();
        this.renderHead();
        break;
      case 'typing': this.onTyping(f); break;
      case 'member': this.onMember(f); this.groups.onMember(f); break;
      case 'room': this.groups.onRoom(f); break;
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
    if (c.msgs.has(m.seq)) {
      // A page or push of a message we hold: keep the newer (higher rev).
      if ((m.rev || 0) > (c.msgs.get(m.seq).rev || 0)) this.applyMessage(c, m);
      return;
    }
    if (!fromHistory && m.from !== this.me && (m.mentions || []).includes(this.me)) c.unread_mentions++;
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
        // A member who sends has read all before: earlier ticks may turn.
        if (m.from !== this.me) this.refreshTicks();
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
    if (this.current() === c) this.renderTyping();
  }

  onMember(f) {
    const c = this.convs.get(f.conversation);
    const gone = f.event === 'left' || f.event === 'removed' || f.event === 'banned';
    if (f.event === 'deleted' || (f.user === this.me && gone)) {
      // The group was deleted, or I left (on another device), was removed
      // or banned: it goes from the list.
      if (c) this.dropGroup(c.id);
      return;
    }
    if (f.user === this.me) {
      if (f.event === 'joined' || f.event === 'added') this.refreshConversations();
      if (f.event === 'role' && c) { c.role = f.role; this.renderHead(); }
      return;
    }
    if (!c) return;
    if (!c.members) { this.loadMembers(c); return; }
    if ((f.event === 'joined' || f.event === 'added') && !c.members.includes(f.user)) c.members.push(f.user);
    if (gone) c.members = c.members.filter(u => u !== f.user);
    if (f.event === 'role') return;
    this.watch([f.user]);
    this.renderList();
    if (this.current() === c) {
      this.renderHead();
      this.refreshTicks();
      const says = { joined: ' joined', left: ' left', added: ' was added by ' + f.by, removed: ' was removed by ' + f.by, banned: ' was banned by ' + f.by };
      this.insertNotice(c, f.user + (says[f.event] || ' ' + f.event));
    }
  }

  // ------------------------------------------------------------ receipts

  sendDelivered() {
    if (!this.link.ready) return;
    for (const c of this.convs.values()) {
      const seq = c.cursor;
      const prev = c.delivered_seq;
      if (seq > prev) {
        c.delivered_seq = seq;
        this.link.request({ type: 'receipt', conversation: c.id, seq, status: 'delivered' }).catch(() => {
          // Not recorded: the next call (on the next message or sync) tries again.
          if (c.delivered_seq === seq) c.delivered_seq = prev;
        });
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

  submit(text, media) {
    if ((!text.trim() && !media) || !this.view) return;
    const e = { cmid: randomId(), text, ts: Date.now() };
    if (media) e.media = media;
    const reply = this.takeReply();
    if (reply) e.reply = reply;
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
      if (e.media) f.media_id = e.media.id;
      if (e.reply) f.reply_to = e.reply;
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
      this.setView({ conv: m.conversation });
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

  // attach uploads a file, then sends it like a message.
  async attach(file) {
    if (!this.view) return;
    try {
      const media = await this.api.upload(file);
      this.submit('', media);
    } catch (e) {
      showError('side-error', 'Could not send ' + file.name + ': ' + e.message);
    }
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
    this.setView(view);
    this.renderView();
    $('app').classList.add('show-conv');
    const c = this.current();
    if (c && !c.loaded) this.loadLatest(c);
    if (c) this.loadMembers(c); // members and their positions, fresh on each open
    $('pins').hidden = true;
    if (c) this.loadPins(c);
    this.clearReply();
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
      const w = create ? await this.api.createGroup(name, '', $('group-private').checked ? 'private' : '') : await this.api.joinGroup(name);
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
      this.dropGroup(c.id);
    } catch (e) {
      showError('side-error', e.message);
    }
  }

  // dropGroup forgets a group I am no longer in.
  dropGroup(id) {
    const open = this.view && this.view.conv === id;
    this.forget(id);
    this.renderList();
    this.renderView();
    if (open) {
      $('app').classList.remove('show-conv');
      $('dm-user').focus();
    }
  }
}
