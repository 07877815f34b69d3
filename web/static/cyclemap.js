/*
 * cyclemap.js: the resident page, made quicker with JavaScript (it works without it).
 *
 * - Address suggestions as you type: an ARIA 1.2 combobox (input + listbox) fed by
 *   /api/v1/suggest. Arrow keys move, Enter picks, Escape closes.
 * - Lookups without a reload: the form, the "did you mean" links and clicks on the map fetch
 *   /lookup?...&fragment=1 and put the answer in place; a status region reads its summary out.
 *
 * Every word shown comes from the page (data-text-* attributes, translated on the server).
 */
(function () {
  "use strict";

  var form = document.getElementById("lookup-form");
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var cyclemap = (window.cyclemap = window.cyclemap || {});
  cyclemap.page = true;

  var input = form.querySelector("input[name=address]");
  var resultBox = document.getElementById("result");
  var resultStatus = document.getElementById("result-status");
  var suggestStatus = document.getElementById("suggestion-status");
  var data = form.dataset;
  var lang = new URLSearchParams(window.location.search).get("lang");

  // -- suggestions (combobox) ------------------------------------------------------------------
  var listbox = document.createElement("ul");
  listbox.id = "address-suggestions";
  listbox.className = "combobox__list";
  listbox.setAttribute("role", "listbox");
  listbox.setAttribute("aria-label", data.textSuggestionsLabel);
  listbox.hidden = true;
  input.parentNode.appendChild(listbox);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listbox.id);
  input.setAttribute("autocomplete", "off");

  var items = [];
  var active = -1;
  var timer = null;
  var pending = null;
  var lastQuery = "";
  var submitted = null;

  function setActive(index) {
    var options = listbox.children;
    for (var i = 0; i < options.length; i++) {
      options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      options[i].classList.toggle("is-active", i === index);
    }
    active = index;
    if (index >= 0 && options[index]) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function close() {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    setActive(-1);
  }

  function open() {
    if (!items.length) return;
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function render(suggestions) {
    items = suggestions;
    listbox.textContent = "";
    suggestions.forEach(function (s, i) {
      var option = document.createElement("li");
      option.id = "address-suggestion-" + i;
      option.className = "combobox__option";
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.textContent = s.address;
      option.addEventListener("mousedown", function (e) {
        e.preventDefault(); // keep the focus in the input
      });
      option.addEventListener("click", function () {
        choose(i);
      });
      listbox.appendChild(option);
    });
    setActive(-1);
    if (suggestions.length) {
      open();
      suggestStatus.textContent =
        suggestions.length === 1
          ? data.textSuggestionsOne
          : data.textSuggestionsMany.replace("{count}", suggestions.length);
    } else {
      close();
      suggestStatus.textContent = "";
    }
  }

  function choose(index) {
    var s = items[index];
    if (!s) return;
    input.value = s.address;
    close();
    submitLookup({ address: s.address });
  }

  function fetchSuggestions() {
    var q = input.value.trim();
    if (q === lastQuery) return;
    lastQuery = q;
    if (q.length < 3) {
      render([]);
      return;
    }
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(data.suggestUrl + "?" + new URLSearchParams({ q: q, limit: "8" }), {
      headers: { Accept: "application/json" },
      signal: pending.signal,
    })
      .then(function (r) {
        return r.ok ? r.json() : { suggestions: [] };
      })
      .then(function (body) {
        // only for what is still typed, while the resident is still typing
        if (input.value.trim() !== q || document.activeElement !== input || submitted === q) return;
        var list = body.suggestions || [];
        if (list.length === 1 && list[0].address.toUpperCase() === q.toUpperCase()) list = [];
        render(list);
      })
      .catch(function () {
        /* aborted or offline: the plain form still works */
      });
  }

  input.addEventListener("input", function () {
    submitted = null;
    clearTimeout(timer);
    timer = setTimeout(fetchSuggestions, 150);
  });

  input.addEventListener("keydown", function (e) {
    var count = items.length;
    if (e.key === "ArrowDown") {
      if (!count) return;
      e.preventDefault();
      if (listbox.hidden) open();
      setActive(active + 1 >= count ? 0 : active + 1);
    } else if (e.key === "ArrowUp") {
      if (!count) return;
      e.preventDefault();
      if (listbox.hidden) open();
      setActive(active - 1 < 0 ? count - 1 : active - 1);
    } else if (e.key === "Enter") {
      if (!listbox.hidden && active >= 0) {
        e.preventDefault();
        choose(active);
      }
    } else if (e.key === "Escape") {
      if (!listbox.hidden) {
        e.preventDefault();
        close();
      }
    }
  });

  input.addEventListener("blur", function () {
    setTimeout(close, 100);
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
      (active.closest && active.closest(".leaflet-container"));
    resultBox.innerHTML = html; // the server's own markup; notes are sanitized there
    resultBox.hidden = false;
    var answer = resultBox.querySelector("[data-status]");
    if (!answer) return;
    var d = answer.dataset;
    if (url) {
      window.history.pushState({ cyclemap: true }, "", url);
      shown = window.location.pathname + window.location.search;
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

  function submitLookup(params) {
    clearTimeout(timer);
    if (pending) pending.abort();
    submitted = input.value.trim();
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
    close();
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
    submitLookup({ lon: e.detail.lon.toFixed(6), lat: e.detail.lat.toFixed(6) });
  });

  // Back and forward between answers: load the answer of that address. (A jump to an anchor
  // such as #main changes only the hash: nothing to do.)
  var shown = window.location.pathname + window.location.search;
  window.addEventListener("popstate", function () {
    var now = window.location.pathname + window.location.search;
    if (now !== shown) window.location.reload();
  });
})();
