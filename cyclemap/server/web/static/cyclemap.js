/*
 * cyclemap.js: the resident page, made quicker with JavaScript (it works without it).
 *
 * - Address suggestions as you type (cyclemap-combobox.js, loaded first).
 * - Lookups without a reload: the form, the "did you mean" links, clicks on the map and "use my
 *   location" fetch /lookup?...&fragment=1 and put the answer in place: what it found above
 *   the map, its dates and notes below it; a status region reads its summary out.
 *
 * Every word shown comes from the page (data-text-* attributes, translated on the server).
 */
(function () {
  "use strict";

  var form = document.getElementById("lookup-form");
  var cyclemap = (window.cyclemap = window.cyclemap || {});
  if (!form || !window.fetch || !window.URLSearchParams || !cyclemap.combobox) return;
  cyclemap.page = true;

  var input = form.querySelector("input[name=address]");
  var resultBox = document.getElementById("result");
  var detailsBox = document.getElementById("result-details");
  var resultStatus = document.getElementById("result-status");
  var suggestStatus = document.getElementById("suggestion-status");
  var data = form.dataset;
  var lang = new URLSearchParams(window.location.search).get("lang");

  // -- suggestions (cyclemap-combobox.js) ----------------------------------------------------
  var combobox = cyclemap.combobox(input, {
    url: data.suggestUrl,
    status: suggestStatus,
    text: {
      one: data.textSuggestionsOne,
      many: data.textSuggestionsMany,
      label: data.textSuggestionsLabel,
    },
    onChoose: function (address) {
      submitLookup({ address: address });
    },
  });

  // -- lookups without a reload --------------------------------------------------------------
  function pageUrl(params) {
    var q = new URLSearchParams(params);
    if (lang) q.set("lang", lang);
    return form.getAttribute("action") + "?" + q.toString();
  }

  function show(html, url) {
    // A choice link or the map had the focus: it is about to disappear, so move it to the new
    // answer's heading instead of letting it fall to the page body (keyboard, screen readers).
    var active = document.activeElement;
    var moveFocus = !active || active === document.body || resultBox.contains(active) ||
      (detailsBox && detailsBox.contains(active)) ||
      (active.closest && active.closest(".leaflet-container"));
    var parts = document.createElement("template");
    parts.innerHTML = html; // the server's own markup; notes are sanitized there
    var answer = parts.content.querySelector("[data-status]");
    if (!answer) return;
    var details = parts.content.querySelector("[data-details]");
    resultBox.textContent = "";
    resultBox.appendChild(answer);
    resultBox.hidden = false;
    if (detailsBox) {
      detailsBox.textContent = "";
      if (details) detailsBox.appendChild(details);
    }
    var d = answer.dataset;
    if (url) {
      window.history.pushState({ cyclemap: true }, "", url);
      shown = window.location.pathname + window.location.search;
      followLanguageLinks();
    }
    if (d.title) document.title = d.title;
    resultStatus.textContent = d.summary || "";
    document.dispatchEvent(
      new CustomEvent("cyclemap:answer", {
        detail: {
          status: d.status,
          summary: d.summary,
          label: d.label,
          lon: d.lon ? parseFloat(d.lon) : null,
          lat: d.lat ? parseFloat(d.lat) : null,
          points: d.points ? JSON.parse(d.points) : [],
          near: d.near ? JSON.parse(d.near) : null,
        },
      })
    );
    var rect = resultBox.getBoundingClientRect();
    if (rect.top < 0 || rect.top > window.innerHeight * 0.8) {
      resultBox.scrollIntoView({ behavior: "smooth", block: "start" });
    }
    var heading = document.getElementById("result-heading");
    if (moveFocus && heading) heading.focus({ preventScroll: true });
  }

  // The language links name this page: after an answer came without a reload, they name it
  // with the address now shown, so switching language keeps the answer.
  function followLanguageLinks() {
    document.querySelectorAll("a[data-lang-switch]").forEach(function (link) {
      var q = new URLSearchParams(window.location.search);
      q.set("lang", link.getAttribute("hreflang"));
      link.setAttribute("href", window.location.pathname + "?" + q.toString());
    });
  }

  function submitLookup(params) {
    combobox.submitted(input.value.trim());
    var url = pageUrl(params);
    resultStatus.textContent = data.textLookingUp;
    form.setAttribute("aria-busy", "true");
    return fetch(url + "&fragment=1", { headers: { Accept: "text/html" } })
      .then(function (r) {
        return r.text().then(function (text) {
          if (r.status >= 500 || text.indexOf("data-status") < 0) throw new Error("HTTP " + r.status);
          show(text, url);
        });
      })
      .catch(function () {
        resultStatus.textContent = data.textFailed;
        window.location.href = url; // fall back to the plain page
      })
      .finally(function () {
        form.removeAttribute("aria-busy");
      });
  }

  form.addEventListener("submit", function (e) {
    var address = input.value.trim();
    if (!address) return; // the browser's own "required" message, or the server's
    e.preventDefault();
    submitLookup({ address: address });
  });

  resultBox.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest("a[data-lookup]") : null;
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
    e.preventDefault();
    var params = new URLSearchParams(link.search);
    params.delete("lang");
    var choice = {};
    params.forEach(function (value, key) {
      choice[key] = value;
    });
    submitLookup(choice);
  });

  resultBox.addEventListener("click", function (e) {
    var link = e.target.closest ? e.target.closest('a[href="#address"]') : null;
    if (!link) return;
    e.preventDefault();
    input.focus();
    input.select();
  });

  document.addEventListener("cyclemap:pick", function (e) {
    var params = { lon: e.detail.lon.toFixed(6), lat: e.detail.lat.toFixed(6) };
    if (e.detail.source === "device") params.source = "device"; // answered with the nearest address
    submitLookup(params);
  });

  // Back and forward between answers: load the answer of that address. (A jump to an anchor
  // such as #main changes only the hash: nothing to do.)
  var shown = window.location.pathname + window.location.search;
  window.addEventListener("popstate", function () {
    var now = window.location.pathname + window.location.search;
    if (now !== shown) window.location.reload();
  });
})();
