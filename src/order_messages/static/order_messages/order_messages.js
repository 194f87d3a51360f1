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

// The header icon polls only while the live stream is down. A trigger filter would say so
// in the markup, but htmx runs filters through eval, which the Content-Security-Policy
// forbids. A poll is the one request with no triggering event.
document.addEventListener("htmx:confirm", function (event) {
  if (window.omLiveOpen && !event.detail.triggeringEvent && event.detail.elt.matches("[data-live-url]")) {
    event.preventDefault();
  }
});

// Live updates (Server-Sent Events): the header count and an open conversation follow
// what happens elsewhere without a reload. While the stream is down, the icon polls.
(function () {
  var icon = document.querySelector("[data-live-url]");
  if (!icon || !window.EventSource) return;
  var source = new EventSource(icon.dataset.liveUrl);
  source.onopen = function () { window.omLiveOpen = true; };
  source.onerror = function () { window.omLiveOpen = false; }; // it reconnects by itself

  function refreshBadge() {
    document.body.dispatchEvent(new CustomEvent("om:unread"));
  }

  function reloadConversation() {
    var conversation = document.getElementById("conversation");
    if (!conversation || !window.htmx) return;
    // The person's own message is being sent from here: its answer shows it.
    if (conversation.querySelector("form.htmx-request")) return;
    var textarea = conversation.querySelector("textarea");
    // Keep what the person is typing across the reload.
    var draft = textarea ? textarea.value : "";
    var focused = textarea && document.activeElement === textarea;
    var thread = document.getElementById("thread");
    var atEnd = !thread || thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
    htmx.ajax("GET", window.location.pathname, {
      target: "#conversation", select: "#conversation", swap: "outerHTML",
    }).then(function () {
      var freshThread = document.getElementById("thread");
      // Someone reading at the end sees the new message; someone scrolled up stays put.
      if (atEnd && freshThread) freshThread.scrollTop = freshThread.scrollHeight;
      var fresh = document.querySelector("#conversation textarea");
      if (!fresh) return;
      if (draft && !fresh.value) fresh.value = draft;
      if (focused) fresh.focus();
    });
  }

  function onConversationEvent(event) {
    var conversation = document.getElementById("conversation");
    if (!conversation) return;
    var data = JSON.parse(event.data);
    if (data.order_number === conversation.dataset.order && data.vendor_key === conversation.dataset.vendor) {
      reloadConversation();
    }
  }
  ["message.posted", "dispute.opened", "dispute.closed"].forEach(function (type) {
    source.addEventListener(type, onConversationEvent);
  });
  source.addEventListener("unread.changed", refreshBadge);
  source.addEventListener("refresh", function () {
    refreshBadge();
    reloadConversation();
  });
})();
