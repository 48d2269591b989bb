// A message's life after it is sent: edits, deletes, reactions, replies,
// mentions, pins and search, on top of ChatView. Chat extends LifeView.
import { $, el, showError } from './util.js';
import { ChatView } from './view.js';

const QUICK_EMOJI = ['\u{1F44D}', '\u2764\uFE0F', '\u{1F602}', '\u{1F389}', '\u{1F62E}', '\u{1F622}'];

function firstLine(s, n) {
  const line = (s || '').split('\n')[0];
  return line.length > n ? line.slice(0, n - 1) + '\u2026' : line;
}

/** LifeView adds what happens to messages after they are sent. */
export class LifeView extends ChatView {

  // ------------------------------------------------------------ revs

  // seeRev records a change of rev in c (an update, or the ack of our own
  // change); a rev above the next one expected reveals a gap: sync.
  seeRev(c, rev) {
    if (!rev || rev <= c.rev) return;
    c.revAhead.add(rev);
    while (c.revAhead.has(c.rev + 1)) { c.revAhead.delete(c.rev + 1); c.rev++; }
    if (c.revAhead.size && !this.syncing) this.later('sync', 100, () => this.sync());
  }

  // startRev takes a sync ack's last_rev: every change up to it is here.
  startRev(c, rev) {
    if (rev > c.rev) c.rev = rev;
    for (const r of c.revAhead) if (r <= c.rev) c.revAhead.delete(r);
  }

  onUpdate(f) {
    const m = f.message;
    if (!m || !m.conversation) return;
    const c = this.convs.get(m.conversation);
    if (!c) { this.refreshConversations(); return; }
    this.applyMessage(c, m);
    this.seeRev(c, f.rev);
  }

  // applyMessage keeps the newer of what we hold and m (the higher rev)
  // and redraws it.
  applyMessage(c, m) {
    const old = c.msgs.get(m.seq);
    if (!old) { this.onMessage(m, true); if (this.current() === c) this.insertMessage(c, m, false); return; }
    if ((m.rev || 0) <= (old.rev || 0)) return;
    c.msgs.set(m.seq, m);
    if (this.current() === c) {
      const li = $('messages').querySelector('li.msg[data-seq="' + m.seq + '"]');
      if (li) li.replaceWith(this.messageItem(c, m));
      if (old.pinned !== m.pinned) this.loadPins(c);
    }
    if (m.seq === c.last_seq) this.later('list', 30, () => this.renderList());
  }

  // change sends an edit, delete, react or pin and applies its ack.
  async change(frame) {
    try {
      const ack = await this.link.request(frame);
      const m = ack.message;
      const c = m && this.convs.get(m.conversation);
      if (!c) return;
      this.applyMessage(c, m);
      this.seeRev(c, m.rev);
    } catch (e) {
      showError('side-error', e.message || String(e.code));
    }
  }

  // ------------------------------------------------------------ drawing

  messageItem(c, m) {
    const li = super.messageItem(c, m);
    const text = li.querySelector('.text');
    if (m.deleted) {
      li.classList.add('deleted');
      text.textContent = 'This message was deleted';
      return li;
    }
    if (m.reply_to) li.insertBefore(this.quote(c, m.reply_to), li.querySelector('.media') || text);
    if ((m.mentions || []).includes(this.me)) li.classList.add('mentions-me');
    if (m.pinned) li.classList.add('pinned');
    const meta = li.querySelector('.meta');
    if (m.edited_at) meta.prepend(el('span', 'edited', 'edited'));
    if (m.pinned) meta.prepend(el('span', 'pin-mark', '\u{1F4CC}'));
    if (m.reactions && m.reactions.length) {
      const box = el('div', 'reactions');
      for (const r of m.reactions) {
        const mine = (r.users || []).includes(this.me);
        const b = el('button', 'reaction' + (mine ? ' mine' : ''), r.emoji + ' ' + r.count);
        b.type = 'button';
        b.title = (r.users || []).join(', ');
        b.setAttribute('aria-pressed', mine ? 'true' : 'false');
        b.addEventListener('click', () => this.react(m, r.emoji, !mine));
        box.append(b);
      }
      li.insertBefore(box, meta);
    }
    li.append(this.actions(c, m));
    return li;
  }

  quote(c, id) {
    let q = null;
    for (const x of c.msgs.values()) if (x.id === id) { q = x; break; }
    const b = el('button', 'quote', q ? q.from + ': ' + (q.deleted ? 'deleted message' : firstLine(q.text, 80) || 'attachment') : 'an earlier message');
    b.type = 'button';
    b.addEventListener('click', () => q && this.jumpTo(q));
    return b;
  }

  actions(c, m) {
    const bar = el('div', 'actions');
    const add = (cls, label, fn) => {
      const b = el('button', 'act ' + cls, label);
      b.type = 'button';
      b.addEventListener('click', fn);
      bar.append(b);
    };
    add('act-react', 'React', () => this.palette(bar, m));
    add('act-reply', 'Reply', () => this.startReply(m));
    if (m.from === this.me) {
      add('act-edit', 'Edit', () => this.startEdit(c, m));
      // A second click confirms: a delete cannot be undone.
      add('act-delete', 'Delete', ev => {
        const b = ev.currentTarget;
        if (b.dataset.armed) { this.change({ type: 'delete', message: m.id }); return; }
        b.dataset.armed = '1';
        b.textContent = 'Delete for everyone?';
        setTimeout(() => { delete b.dataset.armed; b.textContent = 'Delete'; }, 4000);
      });
    }
    if (c.kind === 'direct') add('act-pin', m.pinned ? 'Unpin' : 'Pin', () => this.change({ type: 'pin', message: m.id, on: !m.pinned }));
    return bar;
  }

  palette(bar, m) {
    const open = bar.querySelector('.palette');
    if (open) { open.remove(); return; }
    const p = el('div', 'palette');
    p.setAttribute('role', 'group');
    p.setAttribute('aria-label', 'Pick a reaction');
    for (const e of QUICK_EMOJI) {
      const b = el('button', 'emoji', e);
      b.type = 'button';
      b.addEventListener('click', () => { p.remove(); this.react(m, e, true); });
      p.append(b);
    }
    bar.append(p);
    p.querySelector('button').focus();
  }

  react(m, emoji, on) { this.change({ type: 'react', message: m.id, emoji, on }); }

  startEdit(c, m) {
    const li = $('messages').querySelector('li.msg[data-id="' + CSS.escape(m.id) + '"]');
    if (!li || li.querySelector('form.edit')) return;
    const text = li.querySelector('.text');
    const form = el('form', 'edit');
    const area = el('textarea');
    area.value = m.text;
    area.setAttribute('aria-label', 'Edit message');
    area.maxLength = 4096;
    const save = el('button', 'primary', 'Save');
    save.type = 'submit';
    const cancel = el('button', '', 'Cancel');
    cancel.type = 'button';
    form.append(area, save, cancel);
    text.replaceWith(form);
    area.focus();
    cancel.addEventListener('click', () => form.replaceWith(text));
    form.addEventListener('submit', ev => {
      ev.preventDefault();
      const v = area.value.replace(/^\s*\n|\s+$/g, '');
      if (!v.trim()) return;
      form.replaceWith(text);
      if (v !== m.text) this.change({ type: 'edit', message: m.id, text: v });
    });
  }

  // ------------------------------------------------------------ replies

  startReply(m) {
    this.replyTo = m;
    const bar = $('reply-bar');
    bar.hidden = false;
    $('reply-text').textContent = 'Replying to ' + m.from + ': ' + (firstLine(m.text, 80) || 'attachment');
    $('compose').focus();
  }

  clearReply() {
    this.replyTo = null;
    $('reply-bar').hidden = true;
    $('reply-text').textContent = '';
  }

  // takeReply returns the id the next message answers, if it is in the open
  // conversation, and clears it.
  takeReply() {
    const r = this.replyTo;
    this.clearReply();
    const c = this.current();
    return r && c && r.conversation === c.id ? r.id : '';
  }

  // ------------------------------------------------------------ mentions

  // suggestMentions lists the open conversation's members whose names start
  // with the @word before the caret.
  suggestMentions() {
    const box = $('mention-list');
    const area = $('compose');
    const c = this.current();
    const before = area.value.slice(0, area.selectionStart);
    const hit = /(^|\s)@([a-z0-9_.-]*)$/i.exec(before);
    const names = !c || !hit ? [] : (c.kind === 'direct' ? [c.peer] : c.members || [])
      .filter(u => u && u !== this.me && u.startsWith(hit[2].toLowerCase())).slice(0, 8);
    box.replaceChildren(...names.map(u => {
      const li = el('li');
      const b = el('button', 'mention', '@' + u);
      b.type = 'button';
      b.addEventListener('mousedown', ev => ev.preventDefault()); // keep the caret in the composer
      b.addEventListener('click', () => this.completeMention(u));
      li.append(b);
      return li;
    }));
    box.hidden = names.length === 0;
    return names;
  }

  // completeMention replaces the @word before the caret with @name.
  completeMention(name) {
    const area = $('compose');
    const pos = area.selectionStart;
    const before = area.value.slice(0, pos).replace(/@[a-z0-9_.-]*$/i, '@' + name + ' ');
    area.value = before + area.value.slice(pos);
    area.selectionStart = area.selectionEnd = before.length;
    $('mention-list').hidden = true;
    area.focus();
  }

  // ------------------------------------------------------------ pins

  async loadPins(c) {
    let pins = [];
    try { pins = await this.api.pins(c.id); } catch (e) { return; }
    if (this.current() !== c) return;
    const bar = $('pins');
    bar.hidden = pins.length === 0;
    bar.replaceChildren(...pins.map(m => {
      const b = el('button', 'pinned-item', '\u{1F4CC} ' + m.from + ': ' + (firstLine(m.text, 60) || 'attachment'));
      b.type = 'button';
      b.addEventListener('click', () => this.jumpTo(m));
      return b;
    }));
  }

  // ------------------------------------------------------------ search

  async search(q) {
    q = q.trim();
    const ul = $('search-results');
    if (!q) { ul.replaceChildren(); ul.hidden = true; return; }
    let found;
    try {
      found = await this.api.search(q);
    } catch (e) {
      showError('side-error', 'Search failed: ' + e.message);
      return;
    }
    ul.hidden = false;
    if (!found.length) { ul.replaceChildren(el('li', 'muted', 'Nothing found for \u201C' + q + '\u201D.')); return; }
    ul.replaceChildren(...found.map(m => {
      const c = this.convs.get(m.conversation);
      const li = el('li');
      const b = el('button', 'result');
      b.type = 'button';
      b.dataset.id = m.id;
      b.append(el('span', 'result-where', (c ? this.displayName(c) : 'conversation') + ' \u00B7 ' + m.from),
        el('span', 'result-text', firstLine(m.text, 100)));
      b.addEventListener('click', () => this.jumpTo(m));
      li.append(b);
      return li;
    }));
  }

  // jumpTo opens m's conversation, loads history back to it and shows it.
  async jumpTo(m) {
    const c = this.convs.get(m.conversation);
    if (!c) return;
    if (this.current() !== c) this.open({ conv: c.id });
    if (!c.loaded) await this.loadLatest(c);
    for (let i = 0; i < 100 && !c.msgs.has(m.seq) && !c.noMoreBefore; i++) {
      if (c.loading) { await new Promise(r => setTimeout(r, 50)); continue; }
      await this.loadOlder(c);
    }
    const li = $('messages').querySelector('li.msg[data-seq="' + m.seq + '"]');
    if (!li) return;
    li.scrollIntoView({ block: 'center' });
    for (const x of $('messages').querySelectorAll('li.highlight')) x.classList.remove('highlight');
    li.classList.add('highlight');
    li.tabIndex = -1;
    li.focus({ preventScroll: true });
  }
}
