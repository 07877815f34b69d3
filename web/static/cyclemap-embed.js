/*
 * cyclemap-embed.js: the address box of the iframe map (/embed). Without JavaScript the form
 * opens the full answer page in a new tab; with it, the answer is said in the box, the map moves
 * to the address, and a link leads to the details.
 */
(function () {
  "use strict";

  var form = document.getElementById("embed-form");
  var out = document.getElementById("embed-result");
  if (!form || !out || !window.fetch) return;
  var data = form.dataset;
  var input = form.querySelector("input[name=address]");

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
    var address = input.value.trim();
    if (!address) return;
    e.preventDefault();
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
            state.marker = L.marker([loc.lat, loc.lon], { alt: place, title: place, keyboard: false, interactive: false }).addTo(map);
          }
        }
      })
      .catch(function () {
        say(data.textFailed, page);
      });
  });
})();
