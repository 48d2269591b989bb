// Switchboard's service worker: shows Web Push notifications and opens the
// conversation a notification is about when it is clicked. A push carries
// {"conversation","seq","from"} and "text" only when the server runs with
// --push-preview.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', ev => ev.waitUntil(self.clients.claim()));

self.addEventListener('push', ev => {
  let p = {};
  try { p = ev.data ? ev.data.json() : {}; } catch (e) { /* shown as a plain notification */ }
  const title = p.from ? 'Message from ' + p.from : 'New message';
  ev.waitUntil(self.registration.showNotification(title, {
    body: typeof p.text === 'string' && p.text ? p.text : 'Open Switchboard to read it.',
    // One notification per conversation: a newer push replaces the older.
    tag: p.conversation ? 'conv-' + p.conversation : 'switchboard',
    renotify: true,
    data: { conversation: p.conversation || '', seq: p.seq || 0 },
  }));
});

self.addEventListener('notificationclick', ev => {
  ev.notification.close();
  const conv = (ev.notification.data && ev.notification.data.conversation) || '';
  ev.waitUntil((async () => {
    const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const tab of tabs) {
      if (new URL(tab.url).origin !== self.location.origin) continue;
      tab.postMessage({ type: 'open', conversation: conv });
      return tab.focus();
    }
    return self.clients.openWindow(conv ? '/?conv=' + encodeURIComponent(conv) : '/');
  })());
});
