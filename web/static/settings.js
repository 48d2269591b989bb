// The settings dialog: profile (display name, avatar), password, sessions,
// data export and account deletion. User data reaches the page through
// textContent and attributes only.
import { $, el } from './util.js';

/** Settings drives the dialog for one signed-in Api; onGone runs after the
 * account was deleted. */
export class Settings {
  constructor(api, onGone) {
    this.api = api;
    this.onGone = onGone;
    this.avatarURL = null;
    this.exportURL = null;
  }

  say(msg) { $('settings-msg').textContent = msg; $('settings-error').textContent = ''; }
  fail(e) { $('settings-msg').textContent = ''; $('settings-error').textContent = e.message || String(e); }

  async open() {
    $('settings').hidden = false;
    this.say('');
    $('profile-name').focus();
    try {
      const me = await this.api.me();
      $('profile-name').value = me.display_name;
      await this.showAvatar(me.avatar);
      await this.showSessions();
    } catch (e) { this.fail(e); }
  }

  close() {
    $('settings').hidden = true;
    for (const u of [this.avatarURL, this.exportURL]) if (u) URL.revokeObjectURL(u);
    this.avatarURL = this.exportURL = null;
    $('export-link').hidden = true;
    $('export-link').removeAttribute('href');
  }

  async showAvatar(id) {
    const img = $('avatar-img');
    if (this.avatarURL) URL.revokeObjectURL(this.avatarURL);
    this.avatarURL = null;
    img.hidden = !id;
    $('avatar-none').hidden = !!id;
    img.dataset.media = id || '';
    if (!id) { img.removeAttribute('src'); return; }
    this.avatarURL = URL.createObjectURL(await this.api.mediaBlob(id, false));
    img.src = this.avatarURL;
  }

  async showSessions() {
    const list = $('session-list');
    const ss = await this.api.sessions();
    list.replaceChildren(...ss.map(s => {
      const li = el('li');
      li.dataset.id = s.id;
      const when = new Date(s.created_at).toLocaleString();
      li.append(el('span', null, (s.current ? 'This session, ' : 'Signed in ') + when));
      if (s.current) li.dataset.current = '1';
      else {
        const b = el('button', 'link', 'Revoke');
        b.type = 'button';
        b.addEventListener('click', async () => {
          try { await this.api.revokeSession(s.id); this.say('Session revoked.'); await this.showSessions(); }
          catch (e) { this.fail(e); }
        });
        li.append(b);
      }
      return li;
    }));
  }

  async saveProfile() {
    const change = { display_name: $('profile-name').value.trim() };
    const file = $('avatar-file').files[0];
    try {
      if (file) {
        if (!file.type.startsWith('image/')) throw new Error('The avatar must be an image.');
        change.avatar = (await this.api.upload(file)).id;
      }
      const me = await this.api.updateProfile(change);
      $('avatar-file').value = '';
      $('profile-name').value = me.display_name;
      await this.showAvatar(me.avatar);
      this.say('Profile saved.');
    } catch (e) { this.fail(e); }
  }

  async removeAvatar() {
    try { await this.api.updateProfile({ avatar: '' }); await this.showAvatar(''); this.say('Avatar removed.'); }
    catch (e) { this.fail(e); }
  }

  async changePassword() {
    try {
      await this.api.changePassword($('pw-current').value, $('pw-new').value);
      $('pw-current').value = $('pw-new').value = '';
      this.say('Password changed; your other sessions were signed out.');
      await this.showSessions();
    } catch (e) {
      this.fail(e.code === 'forbidden' ? new Error('The current password is wrong.') : e);
    }
  }

  async exportData() {
    const b = $('export');
    b.disabled = true;
    this.say('Preparing your export\u2026');
    try {
      const blob = await this.api.exportBlob();
      if (this.exportURL) URL.revokeObjectURL(this.exportURL);
      this.exportURL = URL.createObjectURL(blob);
      const a = $('export-link');
      a.href = this.exportURL;
      a.download = 'switchboard-export.zip';
      a.type = blob.type;
      a.dataset.size = String(blob.size);
      a.hidden = false;
      a.click();
      this.say('Export ready (' + blob.size + ' bytes).');
    } catch (e) { this.fail(e); } finally { b.disabled = false; }
  }

  async deleteAccount() {
    if (!confirm('Delete your account? This cannot be undone.')) return;
    try {
      await this.api.deleteAccount($('delete-password').value);
      $('delete-password').value = '';
      this.close();
      this.onGone();
    } catch (e) {
      this.fail(e.code === 'forbidden' ? new Error('The password is wrong.') : e);
    }
  }

  /** wire binds the dialog's controls; call once. current returns the
   * Settings of the signed-in user, or null. */
  static wire(current) {
    const on = (id, ev, f) => $(id).addEventListener(ev, e => {
      if (ev === 'submit') e.preventDefault();
      const s = current();
      if (s) f(s);
    });
    on('settings-open', 'click', s => s.open());
    on('settings-close', 'click', s => s.close());
    on('profile-form', 'submit', s => s.saveProfile());
    on('avatar-remove', 'click', s => s.removeAvatar());
    on('password-form', 'submit', s => s.changePassword());
    on('export', 'click', s => s.exportData());
    on('delete-form', 'submit', s => s.deleteAccount());
    $('settings').addEventListener('keydown', e => {
      const s = current();
      if (e.key === 'Escape' && s) s.close();
    });
  }
}
