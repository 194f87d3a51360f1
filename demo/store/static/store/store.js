// The demo store's own script: its account menu, and the browser's time zone for the
// server (see demo/store/middleware.py).

// The browser's time zone, for the pages the server renders next. The first page is in
// the store's (TIME_ZONE); relative times ("5 minutes ago") are right on it regardless.
(function () {
  var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  // Zone names ("Europe/Berlin", "Etc/GMT+5") need no escaping in a cookie.
  if (!zone || !/^[\w\/+-]+$/.test(zone)) return;
  var cookie = "tz=" + zone;
  if (document.cookie.split("; ").indexOf(cookie) < 0) {
    document.cookie = cookie + "; path=/; max-age=31536000; samesite=lax";
  }
})();

// The account menu (a <details>, which opens with Enter or a click on its own) closes
// with Esc, giving the keyboard back to its button, with a click outside it, and when the
// keyboard leaves it.
(function () {
  function openMenus() {
    return document.querySelectorAll("details.account-menu[open]");
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) {
      event.preventDefault();
      menu.open = false;
      menu.querySelector("summary").focus();
    });
  });
  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener("focusin", function (event) {
    openMenus().forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
})();
