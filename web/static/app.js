// Switchboard's browser client: the sign-in screen and the page's wiring.
// Every piece of user data reaches the page through textContent or
// attributes, never through HTML parsing.
import { login, signup } from './api.js';
import { Chat } from './chat.js';
import { Settings } from './settings.js';
import { Notifier, takeOpenRequest } from './notify.js';
import { $, loadJSON, saveJSON } from './util.js';

let chat = null;
let settings = null;
let notifier = null;

function signIn(token, username) {
  saveJSON(localStorage, 'sb.session', { token, username });
  $('login').hidden = true;
  $('app').hidden = false;
  takeOpenRequest();
  chat = new Chat(token, username, () => signOut(false));
  settings = new Settings(chat.api, () => signOut(false));
  chat.start();
  notifier = new Notifier(chat);
  notifier.start();
}

async function signOut(callServer) {
  const c = chat;
  chat = null;
  if (settings) settings.close();
  settings = null;
  if (notifier) { notifier.stop(); notifier = null; }
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
  $('search-results').replaceChildren();
  $('search-results').hidden = true;
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
  Settings.wire(() => settings);
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
  compose.addEventListener('input', () => { autosize(); if (chat) { chat.typing(); chat.suggestMentions(); } });
  // Tab takes the first mention offered.
  compose.addEventListener('keydown', ev => {
    const first = $('mention-list').querySelector('button');
    if (ev.key === 'Tab' && !$('mention-list').hidden && first) { ev.preventDefault(); first.click(); }
    if (ev.key === 'Escape') { $('mention-list').hidden = true; if (chat) chat.clearReply(); }
  });
  $('reply-cancel').addEventListener('click', () => chat && chat.clearReply());
  $('search-form').addEventListener('submit', ev => { ev.preventDefault(); chat && chat.search($('search-q').value); });
  $('attach-button').addEventListener('click', () => $('attach').click());
  $('attach').addEventListener('change', () => {
    const input = $('attach');
    for (const f of input.files) if (chat) chat.attach(f);
    input.value = '';
  });

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
