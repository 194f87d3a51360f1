// The browser's time zone in a cookie, for the pages the server renders next
// (order_messages.time_zone). The first page is in the store's (TIME_ZONE); relative
// times ("5 minutes ago") are right on it regardless.
(function () {
  var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  // Zone names ("Europe/Berlin", "Etc/GMT+5") need no escaping in a cookie.
  if (!zone || !/^[\w\/+-]+$/.test(zone)) return;
  var cookie = "tz=" + zone;
  if (document.cookie.split("; ").indexOf(cookie) < 0) {
    document.cookie = cookie + "; path=/; max-age=31536000; samesite=lax";
  }
})();
