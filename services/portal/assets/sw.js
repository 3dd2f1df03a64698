// The portal's service worker: shows a town's message that arrived by web push (RFC 8030).
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: event.data.text() }; }
  var title = data.title || data.title_ja || "お知らせ";
  var body = data.body || data.body_ja || "";
  event.waitUntil(self.registration.showNotification(title, { body: body, data: { url: "/inbox" } }));
});
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data.url));
});
