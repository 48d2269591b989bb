// Group management, the public directory, blocking and room presence: the
// v2 group calls (DESIGN.md section 6) behind the group panel.
import { $, el, showError } from './util.js';

const RANK = { owner: 3, admin: 2, member: 1 };

/** Groups drives the group panel of one Chat. */
export class Groups {
  constructor(chat) {
    this.chat = chat;
    this.api = chat.api;
    this.room = null; // conversation id of the watched room
    this.online = null; // its online count
    this.blocked = new Set();
  }

  wire() {
    $('manage').addEventListener('click', () => this.toggle());
    $('block').addEventListener('click', () => this.toggleBlock());
    $('group-browse').addEventListener('click', () => this.browse($('group-name').value));
    $('group-edit').addEventListener('submit', ev => { ev.preventDefault(); this.save(); });
    $('add-form').addEventListener('submit', ev => { ev.preventDefault(); this.add($('add-user').value); });
    $('group-delete').addEventListener('click', () => this.remove());
    this.api.blocks().then(bs => { this.blocked = new Set(bs.map(u => u.username)); this.renderHead(); }, () => {});
  }

  // ------------------------------------------------------------ directory

  async browse(q) {
    const list = $('dir-list');
    try {
      const gs = await this.api.searchGroups(q.trim());
      list.replaceChildren(...gs.map(g => {
        const li = el('li');
        li.dataset.name = g.name;
        const btn = el('button', 'dir-item');
        btn.type = 'button';
        btn.append(el('span', 'conv-name', g.title || g.name), el('span', 'muted', ' ' + g.member_count + ' members'));
        if (g.description) btn.append(el('span', 'muted dir-desc', g.description));
        btn.addEventListener('click', () => { list.hidden = true; this.chat.group(g.name, false); });
        li.append(btn);
        return li;
      }));
      if (!gs.length) list.append(el('li', 'muted', 'No public group matches.'));
      list.hidden = false;
    } catch (e) { showError('side-error', e.message); }
  }

  // ------------------------------------------------------------ the panel

  current() {
    const c = this.chat.current();
    return c && c.kind === 'group' ? c : null;
  }

  toggle() {
    const open = $('group-panel').hidden;
    $('group-panel').hidden = !open;
    $('manage').setAttribute('aria-expanded', String(open));
    if (open) this.refresh();
  }

  close() {
    $('group-panel').hidden = true;
    $('manage').setAttribute('aria-expanded', 'false');
  }

  // refresh reads the open group's members, roles and bans into the panel.
  async refresh() {
    const c = this.current();
    if (!c || $('group-panel').hidden) return;
    let ms;
    try { ms = await this.api.members(c.name); } catch (e) { showError('group-error', e.message); return; }
    const me = ms.find(m => m.username === this.chat.me);
    const role = me ? me.role : 'member';
    c.role = role;
    const admin = RANK[role] >= 2;
    $('edit-title').value = c.title || c.name;
    $('edit-description').value = c.description || '';
    $('edit-visibility').value = c.visibility || 'public';
    $('edit-history').value = c.history || 'all';
    for (const id of ['edit-title', 'edit-description', 'edit-visibility', 'edit-history', 'edit-save']) $(id).disabled = !admin;
    $('add-form').hidden = !admin;
    $('group-delete').hidden = role !== 'owner';
    $('member-list').replaceChildren(...ms.map(m => this.memberRow(c, m, role)));
    const bans = admin ? await this.api.bans(c.name).catch(() => []) : [];
    $('bans-head').hidden = !bans.length;
    $('ban-list').replaceChildren(...bans.map(b => {
      const li = el('li', '', b.username + ' ');
      li.dataset.user = b.username;
      const un = el('button', 'link', 'Unban');
      un.type = 'button';
      un.addEventListener('click', () => this.act(() => this.api.unban(c.name, b.username)));
      li.append(un);
      return li;
    }));
  }

  memberRow(c, m, myRole) {
    const li = el('li');
    li.dataset.user = m.username;
    li.append(el('span', 'dot' + (m.online ? ' online' : '')), el('span', 'member-name', m.username), el('span', 'muted role', m.role));
    if (m.username === this.chat.me) return li;
    if (myRole === 'owner') {
      const sel = el('select', 'role-select');
      sel.setAttribute('aria-label', 'Role of ' + m.username);
      for (const r of ['member', 'admin', 'owner']) {
        const o = el('option', '', r === 'owner' ? 'owner (transfer)' : r);
        o.value = r;
        sel.append(o);
      }
      sel.value = m.role;
      sel.addEventListener('change', () => this.act(() => this.api.setRole(c.name, m.username, sel.value)));
      li.append(sel);
    }
    if (RANK[myRole] > RANK[m.role] && (myRole === 'owner' || m.role === 'member')) {
      const rm = el('button', 'link remove', 'Remove');
      rm.type = 'button';
      rm.addEventListener('click', () => this.act(() => this.api.removeMember(c.name, m.username)));
      const ban = el('button', 'link ban', 'Ban');
      ban.type = 'button';
      ban.addEventListener('click', () => this.act(() => this.api.ban(c.name, m.username)));
      li.append(rm, ban);
    }
    return li;
  }

  async act(fn) {
    $('group-error').textContent = '';
    try { await fn(); } catch (e) { showError('group-error', e.message); }
    await this.refresh();
  }

  async save() {
    const c = this.current();
    if (!c) return;
    const changes = {
      title: $('edit-title').value.trim(),
      description: $('edit-description').value,
      visibility: $('edit-visibility').value,
      history: $('edit-history').value,
    };
    await this.act(async () => {
      const w = await this.api.editGroup(c.name, changes);
      Object.assign(c, { title: w.title, description: w.description || '', visibility: w.visibility, history: w.history });
      this.chat.renderList();
      this.chat.renderHead();
    });
  }

  async add(name) {
    const c = this.current();
    name = name.trim().toLowerCase();
    if (!c || !name) return;
    await this.act(async () => { await this.api.addMember(c.name, name); $('add-user').value = ''; });
  }

  async remove() {
    const c = this.current();
    if (!c) return;
    try {
      await this.api.deleteGroup(c.name);
      this.close();
      this.chat.dropGroup(c.id);
    } catch (e) { showError('group-error', e.message); }
  }

  // ------------------------------------------------------------ blocking

  async toggleBlock() {
    const c = this.chat.current();
    const peer = c && c.kind === 'direct' ? c.peer : this.chat.view && this.chat.view.peer;
    if (!peer) return;
    try {
      if (this.blocked.has(peer)) { await this.api.unblock(peer); this.blocked.delete(peer); }
      else { await this.api.block(peer); this.blocked.add(peer); }
    } catch (e) { showError('side-error', e.message); }
    this.renderHead();
  }

  // ------------------------------------------------------------ room presence

  // watch follows the open group's room: its online count and changes.
  watch() {
    const c = this.current();
    const id = c ? c.id : null;
    if (this.room === id && (this.online !== null || this.pending)) return;
    if (this.room && this.room !== id && this.chat.link.ready) {
      this.chat.link.request({ type: 'unwatch', conversation: this.room }).catch(() => {});
    }
    this.room = id;
    this.online = null;
    this.renderHead();
    if (!id || !this.chat.link.ready) return;
    this.pending = true;
    this.chat.link.request({ type: 'watch', conversation: id }).then(ack => {
      this.pending = false;
      if (this.room !== id) return;
      this.online = ack.online;
      this.renderHead();
    }, () => { this.pending = false; });
  }

  // relinked watches again after a reconnect.
  relinked() { this.online = null; this.pending = false; this.watch(); }

  onRoom(f) {
    if (f.conversation !== this.room) return;
    this.online = f.online;
    this.renderHead();
  }

  onMember(f) {
    const c = this.current();
    if (c && c.id === f.conversation) this.refresh();
  }

  renderHead() {
    const c = this.chat.current();
    const peer = c && c.kind === 'direct' ? c.peer : this.chat.view && this.chat.view.peer;
    const group = c && c.kind === 'group';
    $('manage').hidden = !group;
    $('block').hidden = !peer || peer === this.chat.me;
    $('block').textContent = peer && this.blocked.has(peer) ? 'Unblock' : 'Block';
    $('room-online').textContent = group && this.online !== null ? this.online + ' online' : '';
    if (!group) this.close();
  }
}
