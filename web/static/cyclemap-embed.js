/*
 * cyclemap-embed.js: the address box of the iframe map (/embed). Without JavaScript the form
 * opens the full answer page in a new tab; with it, suggestions show as the resident types
 * (cyclemap-combobox.js, loaded first), the answer is said in the box, the map moves to the
 * address (or to the places to choose from, or back to the city), and a link leads to the
 * details.
 */
(function () {
  "use strict";

  var form = document.getElementById("embed-form");
  var out = document.getElementById("embed-result");
  if (!form || !out || !window.fetch) return;
  var data = form.dataset;
  var input = form.querySelector("input[name=address]");
  var combobox = window.cyclemap && window.cyclemap.combobox
    ? window.cyclemap.combobox(input, {
        url: data.suggestUrl,
        status: document.getElementById("embed-suggestion-status"),
        text: {
          one: data.textSuggestionsOne,
          many: data.textSuggestionsMany,
          label: data.textSuggestionsLabel,
        },
        onChoose: function () {
          lookup();
        },
      })
    : null;

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? values[k] : m;
    });
  }

  function say(text, href) {
    out.textContent = "";
    var p = document.createElement("p");
    p.textContent = text + " ";
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = data.textDetails;
      var hint = document.createElement("span");
      hint.className = "visually-hidden";
      hint.textContent = " " + data.textNewTab;
      a.appendChild(hint);
      p.appendChild(a);
    }
    out.appendChild(p);
  }

  form.addEventListener("submit", function (e) {
    if (!input.value.trim()) return;
    e.preventDefault();
    lookup();
  });

  function lookup() {
    var address = input.value.trim();
    if (!address) return;
    if (combobox) combobox.submitted(address);
    var page = form.getAttribute("action") + "?" + new URLSearchParams({ address: address });
    say(data.textLookingUp);
    fetch(data.lookupApi + "?" + new URLSearchParams({ address: address }), {
      headers: { Accept: "application/json" },
    })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (answer) {
        var loc = answer.location;
        var place = loc ? loc.matched_address || address : address;
        if (answer.status === "matched" && answer.cycle) {
          say(fill(data.textMatched, { place: place, name: answer.cycle.name }), page);
        } else if (answer.status === "outside_service_area") {
          say(fill(data.textOutside, { place: place }), page);
        } else if (answer.status === "ambiguous") {
          say(data.textAmbiguous, page);
        } else {
          say(data.textNotFound, page);
        }
        var state = window.cyclemap && window.cyclemap.map;
        if (state && loc) {
          var map = state.map;
          map.setView([loc.lat, loc.lon], Math.max(map.getZoom(), 16));
          if (state.marker) {
            state.marker.setLatLng([loc.lat, loc.lon]);
          } else {
            state.marker = L.marker([loc.lat, loc.lon], { alt: place, title: place, keyboard: false, interactive: false }).addTo(state.map);
          }
        } else if (state) {
          // no one place: not the last address, but the places to choose from, or the city
          if (state.marker) {
            state.map.removeLayer(state.marker);
            state.marker = null;
          }
          var points = (answer.candidates || []).map(function (c) {
            return L.latLng(c.lat, c.lon);
          });
          var bounds = points.length ? L.latLngBounds(points) : state.zones.getBounds();
          if (bounds.isValid()) state.map.fitBounds(bounds, { padding: [16, 16], maxZoom: 16 });
        }
      })
      .catch(function () {
        say(data.textFailed, page);
      });
  }
})();
