// Turning on phone notifications on this device: a progressive enhancement of the preferences
// page. The browser subscribes with the deployment's VAPID key and the page's own form posts the
// subscription (with its CSRF token) to the portal; without JavaScript the button stays hidden.
(function () {
  "use strict";
  // Signing out also stops this device's notifications (a shared tablet must not keep showing a
  // resident's messages): the browser drops its subscription, and the push service then answers
  // 410, on which the town forgets it.
  if ("serviceWorker" in navigator) {
    var logouts = document.querySelectorAll('form[action="/auth/logout"]');
    for (var i = 0; i < logouts.length; i++) {
      logouts[i].addEventListener("submit", function (event) {
        var out = event.target;
        if (out.getAttribute("data-unsubscribed")) return;
        event.preventDefault();
        navigator.serviceWorker.getRegistration().then(function (registration) {
          return registration ? registration.pushManager.getSubscription() : null;
        }).then(function (subscription) {
          return subscription ? subscription.unsubscribe() : null;
        }).catch(function () { return null; }).then(function () {
          out.setAttribute("data-unsubscribed", "1");
          out.submit();
        });
      });
    }
  }
  var form = document.getElementById("push-form");
  if (!form || !("serviceWorker" in navigator) || !("PushManager" in window)) return;
  var button = document.getElementById("push-enable");
  var status = document.getElementById("push-status");
  function toBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function b64(buffer) {
    var bytes = new Uint8Array(buffer), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  form.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = status.getAttribute("data-working");
    navigator.serviceWorker.register("/sw.js").then(function (registration) {
      return Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") throw new Error("denied");
        return registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: toBytes(form.getAttribute("data-key"))
        });
      });
    }).then(function (subscription) {
      form.elements.endpoint.value = subscription.endpoint;
      form.elements.p256dh.value = b64(subscription.getKey("p256dh"));
      form.elements.auth.value = b64(subscription.getKey("auth"));
      form.submit();
    }).catch(function () {
      status.textContent = status.getAttribute("data-failed");
    });
  });
})();
