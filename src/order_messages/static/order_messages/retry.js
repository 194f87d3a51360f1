/* The "back in a moment" page loads itself again once Retry-After has passed, unless the
   person has pressed a key or touched the page meanwhile: then it waits for them to use its
   "Try again" link (a timed reload must be one people can stop, WCAG 2.2.1). */
(function () {
  "use strict";
  var script = document.currentScript;
  var seconds = parseInt(script && script.getAttribute("data-retry-after"), 10) || 5;
  var timer = window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  function stop() { window.clearTimeout(timer); }
  document.addEventListener("keydown", stop, { once: true });
  document.addEventListener("pointerdown", stop, { once: true });
})();
