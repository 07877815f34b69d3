/*
 * cyclemap-map.js: what the cycle map does beyond drawing (legend, zone names, clicks,
 * "use my location"). Loaded after Leaflet; the map script that folium writes calls
 *     cyclemap.attachMap(map, zonesLayer, options, markerOrNull)
 * Options come from cyclemap/maps.py: mode ("page" | "map" | "export"), urls, legend,
 * labels, text (already translated), locate, newTab.
 *
 * Written for a strict Content-Security-Policy: no inline event handlers, no eval, and text is
 * always set with textContent. The only HTML inserted is a note's body, which the server has
 * sanitized (cyclemap.billing.notes.render_markdown).
 */
(function () {
  "use strict";

  var cyclemap = (window.cyclemap = window.cyclemap || {});
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : match;
    });
  }

  function swatch(color) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "swatch");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", "0.5");
    rect.setAttribute("y", "0.5");
    rect.setAttribute("width", "15");
    rect.setAttribute("height", "15");
    rect.setAttribute("rx", "3");
    rect.setAttribute("fill", color);
    rect.setAttribute("stroke", "#1f2933");
    svg.appendChild(rect);
    return svg;
  }

  // a cycle's name in the page's language (maps.py names it, with its "lang"); a name the city
  // gives only in English, on a page in another language, is marked lang="en"
  function nameNode(className, name, lang) {
    var node = el("span", className, name);
    if (lang && lang !== pageLanguage()) node.lang = lang;
    return node;
  }

  function cycleName(cycle) {
    var span = el("span", "cycle-name");
    span.appendChild(swatch(cycle.color));
    span.appendChild(nameNode(null, cycle.name, cycle.lang));
    return span;
  }

  function notesBlock(notes, text) {
    var box = el("div", "cm-popup__notes");
    if (notes && notes.length) {
      // it may scroll: reachable with the keyboard, and named for screen readers
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", text.notices);
    }
    var lang = pageLanguage();
    (notes || []).forEach(function (note) {
      // the note in the page's language when it has that text, else in English, marked
      var own = (note.translations && note.translations[lang]) || null;
      var foreign = !own && lang !== "en";
      var item = el("div", "cm-popup__note");
      var title = el("p", "cm-popup__note-title");
      if (foreign) {
        var english = el("span", null, note.title);
        english.lang = "en";
        title.appendChild(english);
        title.appendChild(document.createTextNode(" "));
        title.appendChild(el("span", "lang-marker", text.in_english));
      } else {
        title.textContent = own ? own.title : note.title;
      }
      item.appendChild(title);
      var body = el("div", "cm-popup__note-body");
      body.innerHTML = own ? own.html : note.html; // sanitized on the server
      if (foreign) body.lang = "en";
      item.appendChild(body);
      if (note.updated) {
        item.appendChild(el("p", "cm-popup__note-updated", fill(text.updated, { date: localDate(note.updated) })));
      }
      box.appendChild(item);
    });
    return box;
  }

  // the page's language, as a note's translations name it ("es" for es-MX)
  function pageLanguage() {
    return (document.documentElement.lang || "en").split("-")[0].toLowerCase();
  }

  // "2020-02-20" as the page's language writes a date ("February 20, 2020")
  function localDate(iso) {
    try {
      return new Date(iso + "T12:00:00").toLocaleDateString(document.documentElement.lang || undefined, {
        year: "numeric",
        month: "long",
        day: "numeric",
      });
    } catch (e) {
      return iso;
    }
  }

  function round6(x) {
    return Math.round(x * 1e6) / 1e6;
  }

  function pointQuery(lon, lat, lang) {
    var q = "lon=" + encodeURIComponent(round6(lon)) + "&lat=" + encodeURIComponent(round6(lat));
    return lang ? q + "&lang=" + encodeURIComponent(lang) : q;
  }

  cyclemap.attachMap = function (map, zones, opts, marker) {
    var T = opts.text || {};
    var urls = opts.urls || {};
    var container = map.getContainer();
    var status = document.getElementById("map-status");
    var state = { map: map, zones: zones, marker: marker, opts: opts };
    cyclemap.map = state;

    document.querySelectorAll(".map-nojs").forEach(function (node) {
      node.parentNode.removeChild(node);
    });
    document.querySelectorAll("[data-js-only]").forEach(function (node) {
      node.hidden = false;
    });
    container.setAttribute("role", "region");
    container.setAttribute("aria-label", T.map_label);
    if (!opts.tiles) container.classList.add("cm-notiles");

    // Leaflet's own words, in the page's language.
    var zoom = map.zoomControl;
    if (zoom && zoom._zoomInButton) {
      [
        [zoom._zoomInButton, T.zoom_in],
        [zoom._zoomOutButton, T.zoom_out],
      ].forEach(function (pair) {
        pair[0].title = pair[1];
        pair[0].setAttribute("aria-label", pair[1]);
      });
    }
    map.on("popupopen tooltipopen", function (e) {
      var close = e.popup && e.popup._closeButton;
      if (close) close.setAttribute("aria-label", T.close);
    });

    function say(message) {
      if (status) status.textContent = message || "";
    }

    // Popups narrow enough for a phone, and panned clear of the controls in the top-left corner
    // (zoom, full screen, "use my location"), which Leaflet draws above popups.
    function popupOptions(extra) {
      var width = map.getSize().x;
      var o = {
        maxWidth: Math.max(180, Math.min(320, width - 80)),
        autoPanPaddingTopLeft: L.point(10, 150),
        autoPanPaddingBottomRight: L.point(10, 10),
        className: "cm-leaflet-popup",
      };
      for (var k in extra || {}) o[k] = extra[k];
      return o;
    }

    // Names on hover, and (without a server) notes on click.
    zones.eachLayer(function (layer) {
      var p = layer.feature.properties;
      layer.bindTooltip(nameNode(null, p.name, p.lang), { sticky: true, direction: "top", className: "cm-tooltip" });
      if (opts.mode === "export") {
        layer.bindPopup(function () {
          var box = el("div", "cm-popup");
          var title = el("p", "cm-popup__title");
          title.appendChild(cycleName(p));
          box.appendChild(title);
          box.appendChild(notesBlock(p.notes, T));
          box.appendChild(el("p", "cm-popup__caveat", T.approximate));
          return box;
        }, popupOptions());
      }
    });

    // Zone names written on the map, so colour is not the only way to tell them apart
    // (hidden when the map is zoomed so far out that they would pile up).
    var labels = L.layerGroup();
    (opts.labels || []).forEach(function (label) {
      L.marker([label.lat, label.lon], {
        icon: L.divIcon({ className: "cm-zone-label", html: nameNode("cm-zone-label__text", label.name, label.lang), iconSize: null }),
        interactive: false,
        keyboard: false,
      }).addTo(labels);
    });
    function toggleLabels() {
      if (map.getZoom() >= (opts.labelMinZoom || 11)) {
        if (!map.hasLayer(labels)) labels.addTo(map);
      } else if (map.hasLayer(labels)) {
        map.removeLayer(labels);
      }
    }
    map.on("zoomend", toggleLabels);
    map.whenReady(toggleLabels);

    // Legend, folded away on narrow maps.
    var legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var box = L.DomUtil.create("div", "leaflet-control cm-legend");
      var details = el("details", "cm-legend__details");
      details.open = container.clientWidth >= 480;
      details.appendChild(el("summary", "cm-legend__title", T.legend));
      var list = el("ul", "cm-legend__list");
      (opts.legend || []).forEach(function (cycle) {
        var item = el("li");
        item.appendChild(cycleName(cycle));
        list.appendChild(item);
      });
      details.appendChild(list);
      box.appendChild(details);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    legend.addTo(map);

    function placeMarker(lon, lat, label) {
      if (state.marker) {
        state.marker.setLatLng([lat, lon]);
        var icon = state.marker.getElement && state.marker.getElement();
        if (icon) {
          icon.setAttribute("alt", label);
          icon.setAttribute("title", label);
        }
      } else {
        state.marker = L.marker([lat, lon], { alt: label, title: label, keyboard: false, interactive: false }).addTo(map);
      }
    }

    function linkTo(href, text) {
      var a = el("a", "cm-popup__link", text);
      a.href = href;
      if (opts.newTab) {
        a.target = "_blank";
        a.rel = "noopener";
      }
      return a;
    }

    // the API's cycle (the same in every language) as the legend names it, in the page's language
    function localCycle(cycle) {
      var named = (opts.legend || []).filter(function (c) { return cycle && c.id === cycle.id; })[0];
      return named || cycle;
    }

    function answerPopup(answer, lon, lat) {
      var box = el("div", "cm-popup");
      var cycle = localCycle(answer.cycle);
      if (answer.status === "matched" && cycle) {
        var title = el("p", "cm-popup__title");
        title.appendChild(cycleName(cycle));
        box.appendChild(title);
        box.appendChild(el("p", null, fill(T.in_cycle, { name: cycle.name })));
        box.appendChild(notesBlock(answer.notes, T));
      } else if (answer.status === "outside_service_area") {
        box.appendChild(el("p", "cm-popup__title", T.outside));
      } else {
        box.appendChild(el("p", "cm-popup__title", T.not_sure));
      }
      var more = el("p");
      more.appendChild(linkTo(urls.lookup_page + "?" + pointQuery(lon, lat, urls.lang), T.details));
      box.appendChild(more);
      return box;
    }

    function summaryOf(answer) {
      if (answer.status === "matched" && answer.cycle) return fill(T.in_cycle, { name: localCycle(answer.cycle).name });
      if (answer.status === "outside_service_area") return T.outside;
      return T.not_sure;
    }

    // The map page and the iframe: ask the API, answer in a popup.
    function lookupInPopup(lon, lat) {
      var popup = L.popup(popupOptions())
        .setLatLng([lat, lon])
        .setContent(el("p", null, T.looking_up))
        .openOn(map);
      say(T.looking_up);
      fetch(urls.lookup_api + "?" + pointQuery(lon, lat), { headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (answer) {
          popup.setContent(answerPopup(answer, lon, lat));
          say(summaryOf(answer));
        })
        .catch(function () {
          var box = el("div", "cm-popup");
          box.appendChild(el("p", null, T.lookup_error));
          var more = el("p");
          more.appendChild(linkTo(urls.lookup_page + "?" + pointQuery(lon, lat, urls.lang), T.details));
          box.appendChild(more);
          popup.setContent(box);
          say(T.lookup_error);
        });
    }

    // The city on the map, and whether a point is near enough to show with it: a device far
    // away (another town, a wrong fix) must not pull the map to a blank spot.
    function cityBounds() {
      return zones.getBounds();
    }

    function nearCity(lat, lon) {
      var bounds = cityBounds();
      return !bounds.isValid() || bounds.pad(0.5).contains(L.latLng(lat, lon));
    }

    function showCity(extra) {
      var bounds = cityBounds();
      if (!bounds.isValid()) return;
      if (extra) bounds = L.latLngBounds(bounds.getSouthWest(), bounds.getNorthEast()).extend(extra);
      map.fitBounds(bounds, { padding: [16, 16] });
    }

    function pick(lon, lat, fromLocation) {
      if (opts.mode === "export") return;
      var near = nearCity(lat, lon);
      if (fromLocation && !near) {
        // far from the city: stay on the city and say so (the page still looks the point up)
        showCity();
        say(T.far_location);
        if (opts.mode !== "page") {
          L.popup(popupOptions())
            .setLatLng(cityBounds().getCenter())
            .setContent(el("p", null, T.far_location))
            .openOn(map);
          return;
        }
      } else {
        placeMarker(lon, lat, fromLocation ? T.your_location : T.picked);
        if (fromLocation) map.setView([lat, lon], Math.max(map.getZoom(), 16));
      }
      if (opts.mode === "page") {
        var detail = { lon: lon, lat: lat, source: fromLocation ? "device" : "map" };
        if (cyclemap.page) {
          document.dispatchEvent(new CustomEvent("cyclemap:pick", { detail: detail }));
        } else {
          var query = pointQuery(lon, lat, urls.lang) + (fromLocation ? "&source=device" : "");
          window.location.href = urls.lookup_page + "?" + query;
        }
        return;
      }
      lookupInPopup(lon, lat);
    }

    if (opts.mode !== "export") {
      map.on("click", function (e) {
        pick(e.latlng.lng, e.latlng.lat, false);
      });
      // Keyboard: the arrow keys move the map (Leaflet); Enter looks up its middle.
      container.addEventListener("keydown", function (e) {
        if (e.target !== container || e.key !== "Enter") return;
        e.preventDefault();
        var middle = map.getCenter();
        pick(middle.lng, middle.lat, false);
      });
    }

    // The resident page tells the map what it found (after a lookup without a reload).
    if (opts.mode === "page") {
      document.addEventListener("cyclemap:answer", function (e) {
        var d = e.detail || {};
        map.closePopup();
        if (d.lon === undefined || d.lat === undefined || d.lon === null) {
          // no one place (not found, a choice to make): leave the last address, show the
          // places to choose from, or else the whole city
          if (state.marker) {
            map.removeLayer(state.marker);
            state.marker = null;
          }
          var points = (d.points || []).map(function (p) {
            return L.latLng(p[1], p[0]);
          });
          if (points.length) {
            map.fitBounds(L.latLngBounds(points), { padding: [24, 24], maxZoom: 16 });
          } else {
            showCity();
          }
          return;
        }
        placeMarker(d.lon, d.lat, d.label || T.your_address);
        if (!nearCity(d.lat, d.lon)) {
          showCity(); // far outside the city: the answer says where; the map stays on the city
          return;
        }
        if (d.status === "matched") {
          map.setView([d.lat, d.lon], Math.max(map.getZoom(), 16));
        } else {
          showCity(L.latLng(d.lat, d.lon)); // outside the cycles, near the city: both in view
        }
        if (d.summary) {
          var box = el("div", "cm-popup");
          box.appendChild(el("p", "cm-popup__title", d.summary));
          var more = el("p");
          more.appendChild(linkTo("#result-heading", T.see_details));
          box.appendChild(more);
          L.popup(popupOptions({ maxWidth: Math.min(280, map.getSize().x - 80), offset: [0, -30] }))
            .setLatLng([d.lat, d.lon])
            .setContent(box)
            .openOn(map);
        }
      });
    }

    // "Use my location".
    if (opts.locate && navigator.geolocation) {
      var locate = L.control({ position: "topleft" });
      locate.onAdd = function () {
        var box = L.DomUtil.create("div", "leaflet-bar leaflet-control cm-locate");
        var button = el("button", "cm-locate__button", T.locate);
        button.type = "button";
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.on(button, "click", function (e) {
          L.DomEvent.stop(e);
          say(T.locating);
          button.disabled = true;
          navigator.geolocation.getCurrentPosition(
            function (position) {
              button.disabled = false;
              say("");
              pick(position.coords.longitude, position.coords.latitude, true);
            },
            function () {
              button.disabled = false;
              say(T.locate_error);
              L.popup({ className: "cm-leaflet-popup" })
                .setLatLng(map.getCenter())
                .setContent(el("p", null, T.locate_error))
                .openOn(map);
            },
            { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
          );
        });
        box.appendChild(button);
        return box;
      };
      locate.addTo(map);
    }

    // Near a border (an answer with "confirm"): the exact edge of the place's zone around it,
    // dashed, with each cycle's name written on its side, so the resident sees which is theirs.
    function showNear(near) {
      if (state.near) {
        map.removeLayer(state.near);
        state.near = null;
      }
      if (!near || !near.edges) return;
      var group = L.layerGroup();
      // a white band under the dashes, so the exact edge stands out from the drawn zones
      L.geoJSON(near.edges, {
        interactive: false,
        style: function () {
          return { color: "#ffffff", weight: 8, opacity: 0.9, fill: false };
        },
      }).addTo(group);
      L.geoJSON(near.edges, {
        interactive: false,
        style: function () {
          return { color: "#1f2933", weight: 3, dashArray: "6 4", fill: false };
        },
      }).addTo(group);
      (near.labels || []).forEach(function (label) {
        L.marker([label.lat, label.lon], {
          icon: L.divIcon({ className: "cm-zone-label cm-zone-label--near", html: el("span", "cm-zone-label__text", label.name), iconSize: null }),
          interactive: false,
          keyboard: false,
        }).addTo(group);
      });
      group.addTo(map);
      state.near = group;
    }
    showNear(opts.near);
    if (opts.mode === "page") {
      document.addEventListener("cyclemap:answer", function (e) {
        var d = e.detail || {};
        showNear(d.near);
        if (d.near && d.lat !== null && d.lat !== undefined) {
          // the answer is beside the map; a popup here would hide the border it is about
          map.closePopup();
          map.setView([d.lat, d.lon], Math.max(map.getZoom(), opts.nearZoom || 18));
        }
      });
    }

    if (marker) {
      var icon = marker.getElement && marker.getElement();
      if (icon) icon.setAttribute("alt", marker.options.alt || T.your_address);
    }
    return state;
  };
})();
