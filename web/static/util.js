// Small helpers shared by the client's modules.

/** $ returns the element with this id. */
export const $ = id => document.getElementById(id);

/** el makes an element; text, if given, goes in as textContent. */
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

/** randomId returns 24 random hex digits. */
export function randomId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
}

/** loadJSON reads a JSON value from storage, or def. */
export function loadJSON(storage, key, def) {
  try {
    const v = JSON.parse(storage.getItem(key));
    return v === null ? def : v;
  } catch (e) {
    return def;
  }
}

/** saveJSON writes a JSON value to storage; a full storage is ignored. */
export function saveJSON(storage, key, v) {
  try { storage.setItem(key, JSON.stringify(v)); } catch (e) { /* full or disabled */ }
}

// Each tab is its own device: the id lives in sessionStorage.
export function deviceId() {
  let d = sessionStorage.getItem('sb.device');
  if (!d) {
    d = 'web-' + randomId().slice(0, 12);
    sessionStorage.setItem('sb.device', d);
  }
  return d;
}

/** timeOf formats a Unix-millisecond time as hours and minutes. */
export function timeOf(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** lastSeenText says when an offline user was last seen. */
export function lastSeenText(ts) {
  if (!ts) return 'offline';
  const ago = Date.now() - ts;
  if (ago < 60000) return 'last seen just now';
  if (ago < 3600000) return 'last seen ' + Math.floor(ago / 60000) + ' min ago';
  const d = new Date(ts);
  if (d.toDateString() === new Date().toDateString()) return 'last seen today at ' + timeOf(ts);
  return 'last seen ' + d.toLocaleDateString() + ' ' + timeOf(ts);
}

/** isNarrow reports a phone-width layout (one pane at a time). */
export function isNarrow() { return window.matchMedia('(max-width: 700px)').matches; }

/** showError shows text in the alert element id for a while. */
export function showError(id, text) {
  const p = $(id);
  p.textContent = text;
  clearTimeout(p._t);
  p._t = setTimeout(() => { p.textContent = ''; }, 8000);
}
