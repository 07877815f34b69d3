/*
 * cyclemap-combobox.js: address suggestions as you type, for any address box (the resident
 * page and the iframe map). An ARIA 1.2 combobox (input + listbox) fed by /api/v1/suggest:
 * arrow keys move, Enter picks, Escape closes.
 *
 *     var box = cyclemap.combobox(input, {
 *       url: "/api/v1/suggest",            // the suggest API
 *       status: element,                   // a role=status element for "3 suggestions..."
 *       text: { one, many, label },        // translated words ("{count}" in many)
 *       onChoose: function (address) {},   // a suggestion was picked
 *     });
 *     box.close(); box.submitted(text);    // the form was sent: no more suggestions for it
 *
 * Every word shown comes from the page (translated on the server).
 */
(function () {
  "use strict";

  var cyclemap = (window.cyclemap = window.cyclemap || {});
  var count = 0;

  cyclemap.combobox = function (input, opts) {
    var text = opts.text || {};
    var status = opts.status;
    var listbox = document.createElement("ul");
    listbox.id = (input.id || "address") + "-suggestions";
    listbox.className = "combobox__list";
    listbox.setAttribute("role", "listbox");
    listbox.setAttribute("aria-label", text.label || "");
    listbox.hidden = true;
    input.parentNode.appendChild(listbox);
    count += 1;
    var prefix = listbox.id + "-" + count + "-";

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

    function say(message) {
      if (status) status.textContent = message;
    }

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
        option.id = prefix + i;
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
        say(suggestions.length === 1 ? text.one : String(text.many).replace("{count}", suggestions.length));
      } else {
        close();
        say("");
      }
    }

    function choose(index) {
      var s = items[index];
      if (!s) return;
      input.value = s.address;
      close();
      submitted = s.address.trim();
      if (opts.onChoose) opts.onChoose(s.address);
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
      fetch(opts.url + "?" + new URLSearchParams({ q: q, limit: "8" }), {
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
      var n = items.length;
      if (e.key === "ArrowDown") {
        if (!n) return;
        e.preventDefault();
        if (listbox.hidden) open();
        setActive(active + 1 >= n ? 0 : active + 1);
      } else if (e.key === "ArrowUp") {
        if (!n) return;
        e.preventDefault();
        if (listbox.hidden) open();
        setActive(active - 1 < 0 ? n - 1 : active - 1);
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

    return {
      close: close,
      submitted: function (q) {
        clearTimeout(timer);
        if (pending) pending.abort();
        submitted = q;
        close();
      },
    };
  };
})();
