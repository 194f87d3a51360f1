// Links marked data-dialog="ID" open that <dialog> instead of navigating; without
// JavaScript they lead to a page with the same form. [data-dialog-close] closes it.
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-dialog]");
  if (opener) {
    var dialog = document.getElementById(opener.dataset.dialog);
    if (dialog && dialog.showModal) {
      event.preventDefault();
      dialog.showModal();
      var field = dialog.querySelector("textarea, input:not([type=hidden]), button[type=submit]");
      if (field) field.focus();
    }
    return;
  }
  var closer = event.target.closest("[data-dialog-close]");
  if (closer) closer.closest("dialog").close();
});

// After the composer's reply is swapped in, keep the newest message in view and the
// composer focused, so a person can keep typing.
document.addEventListener("htmx:afterSettle", function (event) {
  var source = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (!source || !source.classList.contains("om-composer")) return;
  var conversation = document.getElementById("conversation");
  if (!conversation) return;
  var last = conversation.querySelector(".om-msg:last-child");
  if (last) last.scrollIntoView({ block: "nearest" });
  var textarea = conversation.querySelector("textarea");
  if (textarea) textarea.focus();
});

// Ctrl+Enter (Cmd+Enter on a Mac) sends from the composer.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  var form = event.target.closest && event.target.closest("form.om-composer");
  if (form) {
    event.preventDefault();
    form.requestSubmit();
  }
});
