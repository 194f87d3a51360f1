// The demo store's own script: its account menu.

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
