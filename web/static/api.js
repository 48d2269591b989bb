// HTTP calls of the wire contract (DESIGN.md section 4).

/** ApiError is a failed call: an HTTP status (0 for a WebSocket error frame or a
 * network failure) and the contract's error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

/** call sends one JSON request and returns the decoded answer (null for 204). */
export async function call(method, path, { token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'unavailable', 'the server cannot be reached');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    if (res.ok) throw new ApiError(res.status, 'internal', 'the server sent a malformed answer');
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || 'internal', err.message || res.statusText);
  }
  return data;
}

const enc = encodeURIComponent;

/** Api wraps the calls one signed-in user makes. */
export class Api {
  constructor(token) { this.token = token; }
  get(path) { return call('GET', path, { token: this.token }); }
  post(path, body) { return call('POST', path, { token: this.token, body }); }
  del(path, body) { return call('DELETE', path, { token: this.token, body }); }
  patch(path, body) { return call('PATCH', path, { token: this.token, body }); }
  put(path, body) { return call('PUT', path, { token: this.token, body }); }

  logout() { return this.del('/v1/sessions/current'); }

  // Your account (settings.js).
  me() { return this.get('/v1/users/me').then(r => r.user); }
  updateProfile(change) { return call('PATCH', '/v1/users/me', { token: this.token, body: change }).then(r => r.user); }
  changePassword(current, next) { return call('PUT', '/v1/users/me/password', { token: this.token, body: { current, new: next } }); }
  sessions() { return this.get('/v1/sessions').then(r => r.sessions || []); }
  revokeSession(id) { return this.del('/v1/sessions/' + enc(id)); }
  deleteAccount(password) { return this.del('/v1/users/me', { password }); }
  /** exportBlob downloads the account export (a zip) as a Blob. */
  async exportBlob() {
    let res;
    try {
      res = await fetch('/v1/users/me/export', { headers: { Authorization: 'Bearer ' + this.token } });
    } catch (e) {
      throw new ApiError(0, 'unavailable', 'the server cannot be reached');
    }
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      const err = (data && data.error) || {};
      throw new ApiError(res.status, err.code || 'internal', err.message || res.statusText);
    }
    return res.blob();
  }
  user(name) { return this.get('/v1/users/' + enc(name)).then(r => r.user); }
  conversations() { return this.get('/v1/conversations').then(r => r.conversations || []); }
  history(id, { before, limit }) {
    const q = new URLSearchParams();
    if (before) q.set('before', String(before));
    if (limit) q.set('limit', String(limit));
    return this.get('/v1/conversations/' + enc(id) + '/messages?' + q).then(r => r.messages || []);
  }
  createGroup(name, title, visibility) {
    const body = { name };
    if (title) body.title = title;
    if (visibility) body.visibility = visibility;
    return this.post('/v1/groups', body).then(r => r.conversation);
  }
  editGroup(name, changes) { return this.patch('/v1/groups/' + enc(name), changes).then(r => r.conversation); }
  deleteGroup(name) { return this.del('/v1/groups/' + enc(name)); }
  addMember(name, username) {
    return this.post('/v1/groups/' + enc(name) + '/members', { username }).then(r => r.conversation);
  }
  removeMember(name, username) { return this.del('/v1/groups/' + enc(name) + '/members/' + enc(username)); }
  setRole(name, username, role) {
    return this.put('/v1/groups/' + enc(name) + '/members/' + enc(username) + '/role', { role }).then(r => r.conversation);
  }
  ban(name, username) { return this.post('/v1/groups/' + enc(name) + '/bans', { username }); }
  unban(name, username) { return this.del('/v1/groups/' + enc(name) + '/bans/' + enc(username)); }
  bans(name) { return this.get('/v1/groups/' + enc(name) + '/bans').then(r => r.bans || []); }
  searchGroups(q) { return this.get('/v1/groups?q=' + enc(q)).then(r => r.groups || []); }
  block(username) { return this.put('/v1/blocks/' + enc(username)); }
  unblock(username) { return this.del('/v1/blocks/' + enc(username)); }
  blocks() { return this.get('/v1/blocks').then(r => r.blocks || []); }
  joinGroup(name) { return this.post('/v1/groups/' + enc(name) + '/members', {}).then(r => r.conversation); }
  leaveGroup(name) { return this.del('/v1/groups/' + enc(name) + '/members/me'); }
  members(name) { return this.get('/v1/groups/' + enc(name) + '/members').then(r => r.members || []); }
  pins(id) { return this.get('/v1/conversations/' + enc(id) + '/pins').then(r => r.messages || []); }
  search(q, before) {
    const p = new URLSearchParams({ q });
    if (before) p.set('before', before);
    return this.get('/v1/search?' + p).then(r => (r.results || []).map(x => x.message));
  }
  conversationMembers(id) { return this.get('/v1/conversations/' + enc(id) + '/members').then(r => r.members || []); }

  /** upload stores a file and returns its media record {id, content_type, size}. */
  async upload(file) {
    let res;
    try {
      res = await fetch('/v1/media', {
        method: 'POST',
        headers: { Authorization: 'Bearer ' + this.token, 'Content-Type': file.type || 'application/octet-stream' },
        body: file,
      });
    } catch (e) {
      throw new ApiError(0, 'unavailable', 'the server cannot be reached');
    }
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(res.status, err.code || 'internal', err.message || res.statusText);
    }
    return data.media;
  }

  /** mediaBlob fetches an attachment (its thumbnail with thumb) as a Blob. */
  async mediaBlob(id, thumb) {
    const res = await fetch('/v1/media/' + enc(id) + (thumb ? '?thumb=1' : ''), {
      headers: { Authorization: 'Bearer ' + this.token },
    });
    if (!res.ok) throw new ApiError(res.status, 'unavailable', 'attachment ' + id + ': ' + res.status);
    return res.blob();
  }
}

/** signup creates an account. */
export function signup(username, password, displayName) {
  const body = { username, password };
  if (displayName) body.display_name = displayName;
  return call('POST', '/v1/users', { body });
}

/** login opens a session and returns {token, user, expires_at}. */
export function login(username, password) {
  return call('POST', '/v1/sessions', { body: { username, password } });
}
