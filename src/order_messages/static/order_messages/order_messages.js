// Links marked data-dialog="ID" open that <dialog> instead of navigating; without
// JavaScript they lead to a page with the same form. [data-dialog-close] closes it.
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-dialog]");
  if (opener) {
    var dialog = document.getElementById(opener.dataset.dialog);
    if (dialog && dialog.showModal) {
      event.preventDefault();
      // What went wrong and what the customer asks for, from the banner (reloaded live,
      // unlike the dialog: the dispute may be a newer one than when the page was loaded).
      // No outcome is chosen for staff, not even the one asked for: they pick one.
      var summary = dialog.querySelector("[data-dispute-summary]");
      var banner = opener.closest(".om-dispute-banner");
      var ask = banner && banner.querySelector(".om-dispute-banner__ask");
      if (summary) {
        summary.textContent = ask ? ask.textContent : "";
        summary.hidden = !ask;
      }
      var outcome = dialog.querySelector("select[name=outcome]");
      if (outcome) outcome.value = "";
      dialog.showModal();
      // The first field, in the order the form shows them (a dispute's lists come first).
      // A confirmation without fields (a customer withdrawing their dispute) starts on
      // Cancel: Enter must not do what cannot be undone.
      var field = dialog.querySelector("select, textarea, input:not([type=hidden])") ||
        dialog.querySelector("[data-dialog-close]");
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

// A thread opens where the reader left off: at "New messages" when there is something
// unread, else at its newest message. The page scrolls only its message pane.
function omOpenThread() {
  var thread = document.getElementById("thread");
  if (!thread || thread.dataset.opened) return;
  thread.dataset.opened = "1";
  // A link to one message (#m-12, after sending) is the browser's to follow.
  if (window.location.hash && window.location.hash !== "#thread") return;
  var divider = thread.querySelector(".om-divider");
  if (divider) {
    thread.scrollTop += divider.getBoundingClientRect().top - thread.getBoundingClientRect().top;
  } else {
    thread.scrollTop = thread.scrollHeight;
  }
  // #thread is a part of the page asked for too: the browser scrolls the window to it.
  if (!window.location.hash) omOpenAtTop(thread);
}

// A layout with a tall header of its own (the Oscar shop's) marks the block around the
// conversation with data-thread-at-top="MEDIA QUERY". Where the query matches and the
// conversation does not fit on the first screen, the window opens scrolled to that block:
// its CSS sizes the message pane to the screen under the block's own title and tabs, so
// the newest message and the composer are on screen, and the header is a scroll up. A jump,
// as to a link's #part of a page: no motion (prefers-reduced-motion), the focus left alone.
function omOpenAtTop(thread) {
  var block = thread.closest("[data-thread-at-top]");
  if (!block || !window.matchMedia || !window.matchMedia(block.dataset.threadAtTop).matches) return;
  var conversation = thread.closest(".om-conversation") || thread;
  if (conversation.getBoundingClientRect().bottom <= window.innerHeight) return;
  var top = block.getBoundingClientRect().top + window.scrollY;
  if (top > window.scrollY) window.scrollTo({ top: top, behavior: "instant" });
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", omOpenThread);
} else {
  omOpenThread();
}

// "N newer messages" swaps in the next part of the thread: the pane starts at the first of
// them, where the reader left off.
document.addEventListener("htmx:afterSettle", function (event) {
  var source = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (!source || !source.dataset || !source.dataset.scrollTo) return;
  var thread = document.getElementById("thread");
  var first = document.getElementById(source.dataset.scrollTo);
  if (thread && first) {
    thread.scrollTop += first.getBoundingClientRect().top - thread.getBoundingClientRect().top;
  }
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

// A live update that finds no conversation in the answer (signed out meanwhile, or no
// longer allowed to read it) leaves the page as it is, with what the person was typing.
document.addEventListener("htmx:beforeSwap", function (event) {
  var config = event.detail.requestConfig;
  var live = config && config.headers && config.headers["X-Order-Messages-Live"];
  if (live && String(event.detail.serverResponse).indexOf('id="conversation"') < 0) {
    event.detail.shouldSwap = false;
  }
});

// Live updates (Server-Sent Events): the header count and an open conversation follow
// what happens elsewhere without a reload. While the stream is down, the icon polls.
(function () {
  var icon = document.querySelector("[data-live-url]");
  if (!icon || !window.EventSource) return;
  var source = new EventSource(icon.dataset.liveUrl);
  var dropped = false;
  var caughtUp = 0;
  source.onopen = function () {
    window.omLiveOpen = true;
    // Back after a break: what is not replayed to this person (the staff's
    // conversation.changed) may have been missed, so what the page follows is asked for
    // again; at most twice a minute, however often a broker that is down turns it away.
    if (dropped && Date.now() - caughtUp > 30000) {
      caughtUp = Date.now();
      reloadConversation();
      reloadAround();
      reloadList();
    }
    dropped = false;
  };
  source.onerror = function () { window.omLiveOpen = false; dropped = true; }; // it reconnects by itself

  // The icon is asked for again; of answers that cross, only the newest asked for is put in
  // place (a count read before the reader's "read" committed must not be the last word).
  var badgeAsked = 0;
  function refreshBadge() {
    var current = document.querySelector("[data-live-url]");
    if (!current) return;
    var asked = ++badgeAsked;
    fetch(current.getAttribute("hx-get"), {
      credentials: "same-origin", headers: { "HX-Request": "true" },
    }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      var shown = document.querySelector("[data-live-url]");
      if (!html || !shown || asked !== badgeAsked) return;
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-live-url]");
      if (!fresh) return; // signed out meanwhile: the stream ends and the icon polls
      shown.replaceWith(fresh);
      if (window.htmx) htmx.process(fresh); // its polling, for when the stream is down
    }).catch(function () {
      // The next event, or the icon's own polling, brings the count up to date.
    });
  }

  function reloadConversation() {
    var conversation = document.getElementById("conversation");
    if (!conversation || !window.htmx) return;
    // The person's own message is being sent from here: its answer shows it.
    if (conversation.querySelector("form.htmx-request")) return;
    var textarea = conversation.querySelector("textarea");
    // Keep what the person is typing across the reload, and the files they attached.
    var draft = textarea ? textarea.value : "";
    var attached = conversation.querySelector("form.om-composer .om-attach__list");
    var focused = textarea && document.activeElement === textarea;
    var thread = document.getElementById("thread");
    var atEnd = !thread || thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
    // Marked as a live update: what it brings is read once seen, not by arriving.
    htmx.ajax("GET", window.location.pathname, {
      target: "#conversation", select: "#conversation", swap: "outerHTML",
      headers: { "X-Order-Messages-Live": "1" },
    }).then(function () {
      omWatchReading();
      var freshThread = document.getElementById("thread");
      // Someone reading at the end sees the new message; someone scrolled up stays put.
      if (atEnd && freshThread) freshThread.scrollTop = freshThread.scrollHeight;
      var freshList = document.querySelector("#conversation form.om-composer .om-attach__list");
      if (attached && freshList && attached.children.length) freshList.replaceWith(attached);
      var fresh = document.querySelector("#conversation textarea");
      if (!fresh) return;
      if (draft && !fresh.value) fresh.value = draft;
      if (focused) fresh.focus();
    });
  }

  // What surrounds the conversation: the order's tabs (what is unread in its other
  // conversations, which of them has a dispute) and the dispute history beside it. The
  // whole page is asked for (an htmx request gets the conversation alone), as a live
  // update, so that nothing is marked read by it.
  var AROUND = ["nav.om-tabs", "[data-dispute-history]"];
  function reloadAround() {
    if (!AROUND.some(function (selector) { return document.querySelector(selector); })) return;
    fetch(window.location.pathname, {
      credentials: "same-origin", headers: { "X-Order-Messages-Live": "1" },
    }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html");
      AROUND.forEach(function (selector) {
        var fresh = page.querySelector(selector);
        var shown = document.querySelector(selector);
        if (fresh && shown) shown.replaceWith(fresh);
      });
    }).catch(function () {
      // They stay as they were; the next event or a reload brings them up to date.
    });
  }

  // Store staff hear of a message in a conversation they take part in twice: as its
  // participant and on the staff's stream (conversation.changed). The second is dropped.
  var handled = {};
  function onConversationEvent(event) {
    var conversation = document.getElementById("conversation");
    if (!conversation) return;
    var data = JSON.parse(event.data);
    if (data.order_number !== conversation.dataset.order) return;
    if (handled[data.conversation] >= data.seq) return;
    handled[data.conversation] = data.seq;
    var here = data.vendor_key === conversation.dataset.vendor;
    if (here) reloadConversation();
    if (!here || event.type !== "message.posted") reloadAround();
  }
  // A list (the Messages tab, the back office, a shop's orders with their unread counts)
  // follows too: the page is asked for again, as a live update, and each [data-live-list]
  // of it put in place of the one with its id. Not while rows are ticked for a bulk action
  // or a menu in it is open (it follows once none is), nor while the tab is hidden (it
  // follows once it is shown); events that come together are one request.
  var listPending = false;
  var listTimer = null;
  var listAsked = 0; // the newest request's number: an older answer arriving late is dropped
  function listBusy(list) {
    return list.querySelector("input[type=checkbox]:checked, details[open]") ||
      document.visibilityState === "hidden";
  }
  function listsBusy() {
    return Array.prototype.some.call(document.querySelectorAll("[data-live-list]"), listBusy);
  }
  function reloadList() {
    if (!document.querySelector("[data-live-list]")) return;
    listPending = true;
    if (listsBusy()) return;
    // One request at a time, a quarter of a second after the event that asked for it:
    // events meanwhile make one more request after it, so under a steady flow (a busy
    // store, for its staff) the list follows as fast as it is answered, and no faster.
    if (listTimer) return;
    listTimer = setTimeout(function () {
      listPending = false;
      var asked = ++listAsked;
      var failed = false;
      fetch(window.location.href, {
        credentials: "same-origin", headers: { "X-Order-Messages-Live": "1" },
      }).then(function (response) {
        return response.ok ? response.text() : "";
      }).then(function (html) {
        if (!html || asked !== listAsked) return;
        if (listsBusy()) { listPending = true; return; }
        var page = new DOMParser().parseFromString(html, "text/html");
        page.querySelectorAll("[data-live-list]").forEach(function (fresh) {
          var current = fresh.id && document.getElementById(fresh.id);
          if (!current) return;
          // Keyboard focus stays on the row it was on, wherever that row is now.
          var focused = current.contains(document.activeElement) && document.activeElement.getAttribute("href");
          current.replaceWith(fresh);
          if (focused) {
            var again = fresh.querySelector('[href="' + CSS.escape(focused) + '"]');
            if (again) again.focus();
          }
        });
        document.dispatchEvent(new CustomEvent("om:list-updated"));
      }).catch(function () {
        listPending = failed = true; // the next event, or showing the tab, tries again
      }).then(function () {
        listTimer = null;
        if (listPending && !failed && !listsBusy()) reloadList();
      });
    }, 250);
  }
  function settled(event) {
    var list = event.target.closest && event.target.closest("[data-live-list]");
    // After the other handlers of this change: "Select all" follows the rows' ticks.
    if (list && listPending) setTimeout(function () { if (!listsBusy()) reloadList(); });
  }
  document.addEventListener("change", settled);
  document.addEventListener("toggle", settled, true); // a menu closed (toggle does not bubble)
  document.addEventListener("visibilitychange", function () {
    if (listPending && document.visibilityState === "visible") reloadList();
  });

  ["message.posted", "dispute.opened", "dispute.escalated", "dispute.closed",
   "conversation.changed"].forEach(function (type) {
    source.addEventListener(type, onConversationEvent);
    source.addEventListener(type, reloadList);
  });
  source.addEventListener("unread.changed", refreshBadge);
  source.addEventListener("unread.changed", reloadList);
  // Events were missed: everything that follows them is asked for again.
  source.addEventListener("refresh", function () {
    refreshBadge();
    reloadConversation();
    reloadAround();
    reloadList();
  });
})();

// Attachments: a file picked or dropped is uploaded at once and listed with its preview
// and a remove button; the form then sends the uploads' ids with the message. Without
// JavaScript the file field is sent with the form instead.
(function () {
  function csrfToken(form) {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function showError(area, text) {
    var error = area.querySelector(".om-attach__error");
    error.textContent = text || "";
    error.hidden = !text;
  }

  function announce(area, template, name) {
    area.querySelector(".om-attach__status").textContent = template.replace("{name}", name);
  }

  function uploading(form) {
    return form.querySelectorAll(".om-attach__item--uploading").length;
  }

  function refreshSend(form) {
    var send = form.querySelector("button[type=submit]");
    if (send) send.disabled = uploading(form) > 0;
    form.setAttribute("aria-busy", uploading(form) > 0 ? "true" : "false");
  }

  function listed(area) {
    return area.querySelectorAll(".om-attach__item").length;
  }

  function itemFor(area, name) {
    var item = document.createElement("li");
    item.className = "om-attach__item om-attach__item--uploading";
    var icon = document.createElement("span");
    icon.className = "om-attach__icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = "…";
    var label = document.createElement("span");
    label.className = "om-attach__name";
    label.textContent = name;
    var size = document.createElement("span");
    size.className = "om-attach__size";
    size.textContent = area.dataset.uploadingText;
    item.append(icon, label, size);
    area.querySelector(".om-attach__list").append(item);
    return item;
  }

  function finish(item, file) {
    item.classList.remove("om-attach__item--uploading");
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "attachments";
    hidden.value = file.id;
    item.prepend(hidden);
    var icon = item.querySelector(".om-attach__icon");
    if (file.thumbnail_url) {
      var img = document.createElement("img");
      img.className = "om-attach__preview";
      img.src = file.thumbnail_url;
      img.alt = "";
      img.width = 40;
      img.height = 40;
      icon.replaceWith(img);
    } else {
      icon.textContent = "PDF";
    }
    item.querySelector(".om-attach__name").textContent = file.name;
    item.querySelector(".om-attach__size").textContent = file.size_label;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "om-attach__remove";
    remove.dataset.discardUrl = file.discard_url;
    remove.setAttribute("aria-label", file.remove_label);
    remove.textContent = "×";
    item.append(remove);
  }

  // Each file is listed at once and uploaded after the one before it: one image at a time
  // for the server to check and re-encode, and a phone's uplink for one file at a time.
  function upload(area, file, item) {
    var body = new FormData();
    body.append("file", file);
    return fetch(area.dataset.uploadUrl, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(area.closest("form")), "Accept": "application/json" },
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.error || area.dataset.failedText);
        finish(item, data);
        announce(area, area.dataset.attachedText, data.name);
      });
    }).catch(function (error) {
      item.remove();
      // A network failure says "Failed to fetch"; people are told what to do instead.
      showError(area, error instanceof TypeError ? area.dataset.failedText : error.message);
    }).finally(function () {
      // The list may have moved into a fresh form (a live update): ask the one it is in.
      var form = item.closest("form") || area.closest("form");
      if (form) refreshSend(form);
    });
  }

  function uploadAll(area, files) {
    showError(area, "");
    var queue = Promise.resolve();
    Array.prototype.forEach.call(files, function (file) {
      if (listed(area) >= Number(area.dataset.maxFiles)) {
        showError(area, area.dataset.tooManyText);
        return;
      }
      var item = itemFor(area, file.name);
      queue = queue.then(function () { return upload(area, file, item); });
    });
    refreshSend(area.closest("form"));
  }

  function discard(item, form) {
    var remove = item.querySelector(".om-attach__remove");
    return fetch(remove.dataset.discardUrl, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(form) },
    }).then(function (response) {
      if (!response.ok && response.status !== 404) throw new Error(String(response.status));
    });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches(".om-attach__input")) return;
    var area = input.closest(".om-attach");
    uploadAll(area, input.files);
    input.value = ""; // uploaded already: the form sends their ids, not the files again
  });

  document.addEventListener("click", function (event) {
    var remove = event.target.closest && event.target.closest(".om-attach__remove");
    if (!remove) return;
    var item = remove.closest(".om-attach__item");
    var area = remove.closest(".om-attach");
    var form = remove.closest("form");
    var list = item.parentNode;
    var name = item.querySelector(".om-attach__name").textContent;
    item.hidden = true;
    showError(area, "");
    discard(item, form).then(function () {
      item.remove();
      announce(area, area.dataset.removedText, name);
      // Keep the keyboard in the list, or hand it to the picker.
      var focus = list.querySelector(".om-attach__item:not([hidden]) .om-attach__remove") ||
        area.querySelector(".om-attach__input");
      if (focus) focus.focus();
    }).catch(function () {
      item.hidden = false; // still attached: the person can try again
      showError(area, area.dataset.removeFailedText);
      remove.focus();
    });
  });

  // A message is not sent while a file is still on its way (the button, Ctrl+Enter and
  // htmx alike): the capture phase runs before htmx's own listener.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var area = form.querySelector && form.querySelector(".om-attach");
    if (!area || !uploading(form)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    showError(area, area.dataset.waitText);
  }, true);

  // A dialog closed without sending (Cancel, Esc) removes what was uploaded in it.
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (!dialog.querySelector || dialog.dataset.sending) return;
    dialog.querySelectorAll(".om-attach__item").forEach(function (item) {
      if (item.querySelector(".om-attach__remove")) discard(item, dialog.querySelector("form")).catch(function () {});
      item.remove();
    });
  }, true);
  document.addEventListener("submit", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog");
    if (dialog && !event.defaultPrevented) dialog.dataset.sending = "1";
  });

  // Files dropped beside a form are not opened by the browser (which would leave the
  // page and the draft); dropped on a form with an attachment area, they are attached.
  function carriesFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0;
  }
  document.addEventListener("dragover", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    var form = event.target.closest && event.target.closest("form");
    var area = form && form.querySelector(".om-attach");
    if (area) form.classList.add("om-dropping");
    else event.dataTransfer.dropEffect = "none";
  });
  document.addEventListener("dragleave", function (event) {
    var form = event.target.closest && event.target.closest("form.om-dropping");
    if (form && !form.contains(event.relatedTarget)) form.classList.remove("om-dropping");
  });
  document.addEventListener("drop", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    var form = event.target.closest && event.target.closest("form");
    var area = form && form.querySelector(".om-attach");
    if (!area) return;
    form.classList.remove("om-dropping");
    uploadAll(area, event.dataTransfer.files);
  });
})();

// A thumbnail opens the picture in a pop-up (Esc or Close closes it); without JavaScript,
// or with a modifier key, the link opens the file itself.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a[data-lightbox]");
  var box = document.getElementById("om-lightbox");
  if (!link || !box || !box.showModal || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  var img = box.querySelector("img");
  img.src = link.href;
  img.alt = link.dataset.name;
  box.querySelector("#om-lightbox-name").textContent = link.dataset.name;
  box.querySelector(".om-lightbox__size").textContent = link.dataset.size || "";
  var download = box.querySelector(".om-lightbox__download");
  download.href = link.href;
  download.setAttribute("download", link.dataset.name);
  box.showModal();
  box.querySelector(".om-lightbox__close").focus();
  box.addEventListener("close", function () { link.focus(); }, { once: true });
});

// Saved replies (the composer's menu): choosing one puts its text, filled in for this
// conversation by the server, where the cursor is (replacing a selection) and returns to
// the text box. Esc closes the menu; the arrow keys move between the replies.
(function () {
  function menuOf(node) {
    return node && node.closest && node.closest("details[data-saved-replies]");
  }
  function close(menu, focusToggle) {
    menu.open = false;
    if (focusToggle) menu.querySelector("summary").focus();
  }
  document.addEventListener("click", function (event) {
    var item = event.target.closest && event.target.closest("[data-reply-text]");
    var menu = menuOf(item);
    if (!menu) return;
    var textarea = menu.closest("form").querySelector("textarea");
    if (!textarea) return;
    var text = item.dataset.replyText;
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    textarea.focus();
    textarea.setRangeText(text, start, end, "end");
    // Tells listeners (htmx, draft keepers) that the text changed, as typing would.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    close(menu, false);
  });
  document.addEventListener("keydown", function (event) {
    var menu = menuOf(event.target);
    if (!menu || !menu.open) return;
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close(menu, true);
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var items = Array.prototype.slice.call(menu.querySelectorAll("[data-reply-text]"));
    if (!items.length) return;
    event.preventDefault();
    var at = items.indexOf(document.activeElement);
    var next = event.key === "ArrowDown" ? at + 1 : (at < 0 ? items.length : at) - 1;
    items[(next + items.length) % items.length].focus();
  });
  // A click outside closes it.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-saved-replies][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
})();

// Times say "5 minutes ago", "yesterday" or the date (times.py); this keeps them right
// while the page stays open, by the same rules, in the page's language, each minute.
function omRelativeTimes() {
  if (!window.Intl || !Intl.RelativeTimeFormat) return;
  var words = new Intl.RelativeTimeFormat(document.documentElement.lang || undefined, { numeric: "auto" });
  var now = new Date();
  function day(date) { return new Date(date.getFullYear(), date.getMonth(), date.getDate()); }
  document.querySelectorAll("time.om-when").forEach(function (time) {
    var then = new Date(time.getAttribute("datetime"));
    if (isNaN(then.getTime())) return;
    var seconds = (now - then) / 1000;
    var days = Math.round((day(now) - day(then)) / 86400000);
    var text;
    if (seconds < 60) text = words.format(0, "second"); // "now"
    else if (seconds < 3600) text = words.format(-Math.floor(seconds / 60), "minute");
    else if (days === 0) text = words.format(-Math.floor(seconds / 3600), "hour");
    else if (days === 1) text = words.format(-1, "day"); // "yesterday"
    else text = time.dataset.date;
    if (text && time.textContent !== text) time.textContent = text;
  });
}
setInterval(omRelativeTimes, 60000);
document.addEventListener("htmx:afterSettle", omRelativeTimes);
// A page shown again from the back-forward cache, or a tab brought back, is brought up to date.
window.addEventListener("pageshow", omRelativeTimes);
document.addEventListener("visibilitychange", function () {
  if (document.visibilityState === "visible") omRelativeTimes();
});

// The back office's bulk actions, as in a mail client: "Mark as read/unread" wait for a
// selection, "Select all" ticks every row of the page (half-ticked when some are), and
// the count of selected rows is shown. Without JavaScript the buttons stay enabled and
// the server refuses an empty selection with a message.
(function () {
  function refresh(form) {
    var boxes = form.querySelectorAll("input.om-bo-check");
    var ticked = form.querySelectorAll("input.om-bo-check:checked").length;
    var all = form.querySelector("input.om-bo-all");
    if (all) {
      all.checked = ticked > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = ticked === 0;
    });
    var count = form.querySelector(".om-bulk__count");
    if (count) count.textContent = ticked ? count.dataset.template.replace("{n}", ticked) : "";
  }
  function start() {
    document.querySelectorAll("form.om-bo-form").forEach(function (form) {
      var all = form.querySelector(".om-bulk__all");
      if (all) all.hidden = false;
      refresh(form);
    });
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form.om-bo-form");
    if (!form) return;
    if (event.target.matches("input.om-bo-all")) {
      form.querySelectorAll("input.om-bo-check").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    refresh(form);
  });
  // A page restored from the back-forward cache keeps its ticks: the buttons follow them.
  window.addEventListener("pageshow", start);
  document.addEventListener("om:list-updated", start);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

// A message is read once it was on screen in a visible tab. The page as loaded is read
// (the server marked what it shows); a message that arrives live while the tab is hidden,
// or outside the visible part of the pane, stays unread until it has been seen. The page
// then tells the server the newest one seen, which brings the header count along.
var omReading = { observer: null, onScreen: {} };
function omReportReading() {
  var conversation = document.getElementById("conversation");
  if (!conversation || !conversation.dataset.readUrl || document.visibilityState !== "visible") return;
  var newest = Number(conversation.dataset.readSeq || 0);
  Object.keys(omReading.onScreen).forEach(function (seq) { newest = Math.max(newest, Number(seq)); });
  if (newest <= Number(conversation.dataset.readSeq || 0)) return;
  conversation.dataset.readSeq = newest;
  var form = conversation.querySelector("input[name=csrfmiddlewaretoken]");
  fetch(conversation.dataset.readUrl, {
    method: "POST", credentials: "same-origin", body: new URLSearchParams({ seq: newest }),
    headers: { "X-CSRFToken": form ? form.value : "" },
  }).catch(function () {
    // Not recorded: try again with the next message seen.
    if (Number(conversation.dataset.readSeq) === newest) conversation.dataset.readSeq = 0;
  });
}
function omWatchReading() {
  if (omReading.observer) omReading.observer.disconnect();
  omReading.onScreen = {};
  var conversation = document.getElementById("conversation");
  if (!conversation || !conversation.dataset.readUrl || !window.IntersectionObserver) return;
  var readSeq = Number(conversation.dataset.readSeq || 0);
  var thread = document.getElementById("thread");
  // The viewport as root: the pane's own scrolling clips what counts as on screen too.
  omReading.observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      var seq = entry.target.id.slice(2);
      // Half of it shown, or a message taller than that filling half of the pane.
      var room = Math.min(window.innerHeight, thread ? thread.clientHeight : window.innerHeight);
      if (entry.intersectionRatio >= 0.5 || entry.intersectionRect.height >= room / 2) {
        omReading.onScreen[seq] = true;
      } else {
        delete omReading.onScreen[seq];
      }
    });
    omReportReading();
  }, { threshold: [0, 0.25, 0.5, 0.75, 1] });
  conversation.querySelectorAll(".om-msg[id^='m-']").forEach(function (message) {
    if (Number(message.id.slice(2)) > readSeq) omReading.observer.observe(message);
  });
}
document.addEventListener("visibilitychange", omReportReading);
document.addEventListener("htmx:afterSettle", function (event) {
  if (event.target.closest && event.target.closest("#conversation")) omWatchReading();
});
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", omWatchReading);
else omWatchReading();

// The API tokens page: a button[data-copy="ID"] copies the text of the field with that id
// and says "Copied" for a moment, told to screen readers by [data-copy-status]. It is
// hidden in the markup, as it does nothing without JavaScript: the token stays text to select.
(function () {
  function copied(button) {
    var status = document.querySelector("[data-copy-status]");
    var label = button.omCopyLabel || (button.omCopyLabel = button.textContent);
    button.textContent = button.dataset.copiedText;
    if (status) status.textContent = button.dataset.copiedText;
    clearTimeout(button.omCopyTimer);
    button.omCopyTimer = setTimeout(function () {
      button.textContent = label;
      if (status) status.textContent = "";
    }, 2000);
  }
  // Without the Clipboard API (a page not served over HTTPS), the browser's own copy
  // command; if that fails too, the token is left selected for Ctrl+C.
  function copyBySelection(field) {
    field.focus();
    field.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }
  function start() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    var field = button && document.getElementById(button.dataset.copy);
    if (!field) return;
    var copy = navigator.clipboard && navigator.clipboard.writeText
      ? navigator.clipboard.writeText(field.value)
      : Promise.reject(new Error("no clipboard"));
    copy.then(function () {
      copied(button);
    }, function () {
      if (copyBySelection(field)) copied(button);
    });
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
