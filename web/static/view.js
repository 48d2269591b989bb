// The DOM side of a Chat: lists, headers, messages, ticks. User text goes in
// through textContent only.
import { $, el, lastSeenText, timeOf } from './util.js';

function kb(n) {
  return n >= 1048576 ? (n / 1048576).toFixed(1) + ' MB' : Math.max(1, Math.round(n / 1024)) + ' KB';
}

const TICKS = {
  pending: ['\u2026', 'Sending'],
  sent: ['\u2713', 'Sent'],
  delivered: ['\u2713\u2713', 'Delivered'],
  read: ['\u2713\u2713', 'Read'],
  failed: ['!', 'Not sent'],
};

/** ChatView renders a Chat's state; Chat extends it with the protocol. */
export class ChatView {

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
      const names = el('span', 'names');
      names.append(el('span', 'conv-name', this.displayName(c)));
      // The last message, when this tab holds it (the server lists no preview).
      const last = c.msgs.get(c.last_seq);
      if (last) {
        const who = last.from === this.me ? 'You: ' : c.kind === 'group' ? last.from + ': ' : '';
        const media = last.media ? ((last.media.content_type || '').startsWith('image/') ? 'Photo' : 'Attachment') : '';
        names.append(el('span', 'preview', who + (last.text || media)));
      }
      const kind = el('span', 'kind', c.kind === 'group' ? 'group' : '');
      btn.append(dot, names, kind);
      const n = this.unread(c);
      if (n > 0 && c.unread_mentions > 0) btn.append(el('span', 'mention-badge', '@'));
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
    const has = !!this.view;
    $('composer').hidden = !has;
    $('empty').hidden = has;
    $('leave').hidden = !(c && c.kind === 'group');
    if (this.groups) this.groups.watch();
    this.renderHead();
    this.renderMessages();
    this.renderTyping();
    this.scrollToBottom();
  }

  renderHead() {
    if (this.groups) this.groups.renderHead();
    const c = this.current();
    const title = $('conv-title');
    const status = $('conv-status');
    if (!this.view) { title.textContent = 'No conversation'; status.textContent = ''; return; }
    if (!c && this.view.conv) { title.textContent = 'Connecting\u2026'; status.textContent = ''; return; }
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

  // renderTyping shows who types in the open conversation, and plans its
  // own next run for when the soonest of them expires.
  renderTyping() {
    const c = this.current();
    const p = $('typing');
    clearTimeout(this.typingTimer);
    if (!c) { p.textContent = ''; return; }
    const now = Date.now();
    const live = [...c.typing].filter(([, until]) => until > now);
    const who = live.map(([u]) => u);
    const text = who.length === 0 ? '' : who.length === 1 ? who[0] + ' is typing\u2026' : who.join(', ') + ' are typing\u2026';
    if (p.textContent !== text) p.textContent = text;
    if (live.length) {
      const next = Math.min(...live.map(([, until]) => until)) - now + 50;
      this.typingTimer = setTimeout(() => this.renderTyping(), next);
    }
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
    if (m.media) li.append(this.mediaItem(m.media));
    li.append(el('div', 'text', m.text || ''));
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

  // mediaItem shows an attachment: an image inline, anything else as a
  // download. The bytes need the token, so they come as a Blob.
  mediaItem(md) {
    const box = el('div', 'media');
    const type = md.content_type || '';
    if (type.startsWith('image/')) {
      const img = el('img');
      img.alt = 'image, ' + kb(md.size);
      if (md.width && md.height) { img.width = md.width; img.height = md.height; }
      box.append(img);
      this.blobURL(md.id, !!md.width).then(u => { img.src = u; }, () => { img.alt = 'image could not be loaded'; });
      return box;
    }
    const a = el('a', 'file', 'Download ' + (type || 'file') + ' (' + kb(md.size) + ')');
    a.href = '#';
    a.addEventListener('click', async ev => {
      ev.preventDefault();
      const u = await this.blobURL(md.id, false);
      const dl = el('a');
      dl.href = u;
      dl.download = md.id;
      dl.click();
    });
    box.append(a);
    return box;
  }

  blobURL(id, thumb) {
    const key = id + (thumb ? ':t' : '');
    this.blobs = this.blobs || new Map();
    if (!this.blobs.has(key)) {
      const p = this.api.mediaBlob(id, thumb).then(b => URL.createObjectURL(b));
      p.catch(() => this.blobs.delete(key));
      this.blobs.set(key, p);
    }
    return this.blobs.get(key);
  }

  pendingItem(e, status) {
    const li = el('li', 'msg mine pending');
    li.dataset.cmid = e.cmid;
    if (e.media) li.append(el('div', 'media', 'Attachment: ' + (e.media.content_type || 'file') + ', ' + kb(e.media.size)));
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
