/* cyclemap-snippet.js: a "copy" button for the embed code on /embed/snippet. */
(function () {
  "use strict";
  var button = document.querySelector("[data-copy]");
  if (!button || !navigator.clipboard) return;
  var code = document.getElementById(button.getAttribute("data-copy"));
  var status = document.getElementById("snippet-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(code.value).then(function () {
      status.textContent = button.getAttribute("data-text-copied");
    });
  });
})();
