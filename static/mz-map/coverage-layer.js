/* Coverage map layers of the 民政设施覆盖分析 dashboard (project code, MIT like the project).
 *
 * MzCoverage.create(map, options) draws, once per dataset and view, from the layers' data (compact
 * columns in the <script type="application/json"> element named by options.dataId):
 *   - the township (or district / city) layer, styled by the first style before it goes on the map;
 *   - district outlines, facility markers (made per class when a style first shows it), township
 *     labels from a suitable zoom, optional basemap tiles with an offline notice when they cannot load;
 * and returns apply(style): the per-indicator part (fill class per feature, tooltip rows, visible
 * facility classes, legend, planned sites, service areas), applied without redrawing geometry.
 *
 * A style comes either inline (options.inline) or from the Streamlit page: a small st.html script
 * stores it in the parent window (window.parent.__mzMapStyle[key]) and calls
 * window.__mzApplyStyle(style) of the map frame whose window.__mzMapKey is that key. A style whose
 * `layer` is not this layer's id is ignored (the page is switching views).
 *
 * Clicks: the clicked feature's toGeoJSON() goes to Python through the map component (frame/);
 * township and area features answer with their properties only (no geometry goes back to Python).
 * All strings in the data and styles are HTML-escaped on the server; they are inserted as HTML.
 */
(function () {
  'use strict';

  var PANES = [['mzOutlines', 410, false], ['mzService', 420, false], ['mzPoints', 450, true], ['mzLabels', 460, false]];
  var MAX_LABELS = 400;

  function table(rows) {
    var out = '<table>';
    for (var i = 0; i < rows.length; i++) {
      out += '<tr><th>' + rows[i][0] + '</th><td>' + rows[i][1] + '</td></tr>';
    }
    return out + '</table>';
  }

  function panes(map) {
    PANES.forEach(function (p) {
      if (!map.getPane(p[0])) {
        var el = map.createPane(p[0]);
        el.style.zIndex = String(p[1]);
        if (!p[2]) { el.style.pointerEvents = 'none'; }
      }
    });
  }

  function renderer(canvas, pane) {
    var opts = {padding: 0.5};
    if (pane) { opts.pane = pane; }
    if (canvas) { opts.tolerance = 3; return L.canvas(opts); }
    return L.svg(opts);
  }

  // Layers come as columns (geodata.mapview.compact_layer): {decimals, columns: {name: [value per
  // feature]}, geometry: [{type, q} or null per feature], lp: [x, y, ...] label points}. Geometry:
  // each ring or line a flat list of integers on a grid of 10^-decimals degrees, its first point
  // absolute, the others as differences (polygon rings without their closing point). decode turns
  // a layer into a GeoJSON FeatureCollection in place (properties: i, the columns, lp).
  function decodeLine(flat, scale) {
    var out = new Array(flat.length / 2), x = 0, y = 0;
    for (var i = 0, j = 0; j < flat.length; i += 1, j += 2) {
      x += flat[j];
      y += flat[j + 1];
      out[i] = [x / scale, y / scale];
    }
    return out;
  }
  function decodeGeometry(g, scale) {
    if (!g) { return null; }
    var out = {type: g.type};
    if (g.type === 'Polygon' || g.type === 'MultiLineString') {
      out.coordinates = g.q.map(function (r) { return decodeLine(r, scale); });
    } else if (g.type === 'MultiPolygon') {
      out.coordinates = g.q.map(function (p) { return p.map(function (r) { return decodeLine(r, scale); }); });
    } else {
      out.coordinates = decodeLine(g.q, scale);
    }
    return out;
  }
  function decode(layer) {
    if (!layer || layer.features) { return layer; }
    var scale = Math.pow(10, layer.decimals), names = Object.keys(layer.columns), lp = layer.lp;
    layer.type = 'FeatureCollection';
    layer.features = layer.geometry.map(function (g, i) {
      var p = {i: i};
      for (var k = 0; k < names.length; k++) { p[names[k]] = layer.columns[names[k]][i]; }
      if (lp) { p.lp = [lp[2 * i] / scale, lp[2 * i + 1] / scale]; }
      return {type: 'Feature', properties: p, geometry: decodeGeometry(g, scale)};
    });
    delete layer.geometry;
    return layer;
  }

  function watchTiles(map, layers, message) {
    var loaded = 0, failed = 0, shown = false;
    function show() {
      shown = true;
      var box = L.control({position: 'topright'});
      box.onAdd = function () {
        var div = L.DomUtil.create('div', 'mz-offline leaflet-control');
        div.innerHTML = message;
        L.DomEvent.disableClickPropagation(div);
        return div;
      };
      box.addTo(map);
    }
    layers.forEach(function (t) {
      t.on('tileload', function () { loaded += 1; });
      t.on('tileerror', function () {
        failed += 1;
        if (!shown && loaded === 0 && failed >= 4) { show(); }
      });
    });
  }

  // A click on a feature goes to Python through the map component's report function
  // (static/mz-map/frame/index.html: at once, one value per click); nothing without it (a map
  // opened on its own, e.g. an exported HTML file).
  function sendNow(feature) {
    if (typeof window.__mzReport === 'function') { window.__mzReport({last_active_drawing: feature}); }
  }

  function create(map, o) {
    var started = window.performance ? performance.now() : 0;
    if (o.dataId) {  // the layers' data: JSON in a <script type="application/json"> element of the page
      var d = JSON.parse(document.getElementById(o.dataId).textContent);
      o.data = d.data;
      o.outlines = d.outlines;
      o.facilities = d.facilities;
    }
    panes(map);
    decode(o.data);
    decode(o.outlines);
    var township = o.kind === 'township';
    var heads = o.heads;
    var base = {color: township ? '#555555' : '#333333', weight: township ? 0.6 : 0.9, opacity: 1,
                fillOpacity: township ? 0.55 : 0.72, fillColor: o.neutral};
    var state = {style: null, fitted: false};

    if (o.tiles && o.tiles.length) {
      var tiles = o.tiles.map(function (t) {
        return L.tileLayer(t.url, {subdomains: t.subdomains || 'abc', maxZoom: t.maxZoom, attribution: t.attribution})
          .addTo(map);
      });
      watchTiles(map, tiles, o.offlineMessage);
    }

    function classOf(i) {
      var s = state.style;
      return s ? s.cls.charCodeAt(i) - 48 : -1;
    }
    function styleOf(i) {
      var k = classOf(i), s = state.style;
      return L.extend({}, base, {fillColor: k >= 0 ? s.colors[k] : base.fillColor});
    }
    function tipOf(props) {
      var rows = [[heads.name, props.name]];
      var parent = township ? props.district_name : props.parent;
      if (parent) { rows.push([heads.parent, parent]); }
      var s = state.style, k = classOf(props.i);
      if (s && k >= 0) {
        rows.push([s.rowLabel, s.labels[k]]);
        rows = rows.concat((s.rows && s.rows[props.i]) || s.defaultRows || []);
      }
      return table(rows) + (township ? '' : '<div class="mz-hint">' + heads.hint + '</div>');
    }

    // One canvas for townships and facility markers (markers drawn last, so on top): a second
    // canvas above would take every click, also those meant for the townships below it.
    // Tooltips and mouse handlers are bound once on each group, not on each of thousands of shapes.
    // No smoothing by Leaflet (smoothFactor 0): the geometry comes simplified for the view (~1 px at
    // the zoom that fits it, geodata.mapview); smoothing it again cost ~20 % of this script.
    var mainRenderer = renderer(o.canvas);
    var layer = L.geoJSON(o.data, {
      renderer: mainRenderer, smoothFactor: 0,
      style: function (f) { return styleOf(f.properties.i); },
      onEachFeature: function (f, l) {
        l.toGeoJSON = function () { return {type: 'Feature', properties: f.properties, geometry: null}; };
      }
    });
    layer.bindTooltip(function (l) { return tipOf(l.feature.properties); }, {sticky: true, direction: 'auto', className: 'mz-tip'});
    layer.on('mouseover', function (e) {
      e.layer.setStyle({weight: 2.5, color: '#000000'});
      if (!o.canvas && e.layer.bringToFront) { e.layer.bringToFront(); }
    });
    layer.on('mouseout', function (e) { e.layer.setStyle(styleOf(e.layer.feature.properties.i)); });
    layer.on('click', function (e) { sendNow(e.layer.toGeoJSON()); });

    var overlays = {};
    overlays[heads.layer] = layer;
    if (o.outlines) {
      overlays[heads.outlines] = L.geoJSON(o.outlines, {
        pane: 'mzOutlines', interactive: false, renderer: renderer(o.canvas, 'mzOutlines'),
        style: function () { return {color: '#222222', weight: 2.2, opacity: 1, fill: false}; }
      });
    }

    // Facility markers: made per class the first time a style shows that class; their group is on
    // the map from the start (see the end of create) so its click handler reaches every marker
    // later added to it. Facilities come as columns (geodata.webmap.facility_collection):
    // classes, states, facility_id, name, c (class index), s (state index), xy (integers of
    // 10^-decimals degrees).
    var facilityGroup = L.featureGroup();
    var fac = o.facilities, kinds = [], states = [], byClass = [], made = [], unit = 1;
    if (fac) {
      unit = Math.pow(10, fac.decimals);
      kinds = fac.classes;
      states = fac.states;
      kinds.forEach(function () { byClass.push([]); made.push(null); });
      fac.c.forEach(function (c, j) { byClass[c].push(j); });
    }
    var pointRenderer = o.canvas ? mainRenderer : renderer(false, 'mzPoints');
    function markersOf(c) {
      if (made[c] === null) {
        made[c] = byClass[c].map(function (j) {
          var x = fac.xy[2 * j] / unit, y = fac.xy[2 * j + 1] / unit;
          var m = L.circleMarker([y, x], {renderer: pointRenderer, pane: o.canvas ? 'overlayPane' : 'mzPoints',
                                          radius: 4.5, weight: 1, color: '#ffffff', fillColor: kinds[c].color,
                                          fillOpacity: 0.95, opacity: 1});
          m.feature = {type: 'Feature', properties: {facility_id: fac.facility_id[j], name: fac.name[j], c: c, s: fac.s[j]},
                       geometry: {type: 'Point', coordinates: [x, y]}};
          return m;
        });
      }
      return made[c];
    }
    facilityGroup.bindTooltip(function (m) {
      var p = m.feature.properties;
      return table([[heads.facility, p.name], [heads.facilityClass, kinds[p.c].name], [heads.facilityState, states[p.s]]]);
    }, {sticky: false, direction: 'auto', className: 'mz-tip'});
    facilityGroup.on('mouseover', function (e) { e.layer.setStyle({weight: 3, color: '#000000'}); });
    facilityGroup.on('mouseout', function (e) { e.layer.setStyle({weight: 1, color: '#ffffff'}); });
    facilityGroup.on('click', function (e) { sendNow(e.layer.toGeoJSON()); });
    overlays[heads.facilities] = facilityGroup;
    var serviceGroup = L.featureGroup();
    var plannedGroup = L.featureGroup();

    // Township labels from `labelZoom`, only those in view (at most MAX_LABELS).
    var labels = L.layerGroup();
    function updateLabels() {
      if (!township || o.labelZoom === null || o.labelZoom === undefined) { return; }
      labels.clearLayers();
      if (map.getZoom() < o.labelZoom) { map.removeLayer(labels); return; }
      var b = map.getBounds().pad(0.05), n = 0, feats = o.data.features;
      for (var i = 0; i < feats.length && n < MAX_LABELS; i++) {
        var lp = feats[i].properties.lp;
        if (!lp) { continue; }
        var ll = L.latLng(lp[1], lp[0]);
        if (!b.contains(ll)) { continue; }
        labels.addLayer(L.marker(ll, {pane: 'mzLabels', interactive: false, keyboard: false,
          icon: L.divIcon({className: 'mz-label', html: '<span>' + feats[i].properties.name + '</span>', iconSize: null})}));
        n += 1;
      }
      labels.addTo(map);
    }
    map.on('zoomend moveend', updateLabels);
    map.whenReady(updateLabels);
    if (township && o.labelZoom !== null && o.labelZoom !== undefined) { overlays[heads.labels] = labels; }

    function setFacilities(classes) {
      facilityGroup.clearLayers();
      if (classes === undefined) { return; }
      var wanted = null;
      if (classes !== null) {
        wanted = {};
        classes.forEach(function (c) { wanted[c] = true; });
      }
      kinds.forEach(function (k, c) {
        if (wanted === null || wanted[k.id]) { markersOf(c).forEach(function (m) { facilityGroup.addLayer(m); }); }
      });
    }
    function setPlanned(sites) {
      plannedGroup.clearLayers();
      (sites || []).forEach(function (s) {
        L.marker([s.lat, s.lng], {icon: L.divIcon({html: s.html, className: '', iconSize: [19, 19], iconAnchor: [9, 9]})})
          .bindTooltip(s.tip, {className: 'mz-tip', direction: 'auto'}).addTo(plannedGroup);
      });
    }
    function setService(service) {
      serviceGroup.clearLayers();
      if (!service) { return; }
      serviceGroup.addLayer(L.geoJSON(service.data, {
        pane: 'mzService', interactive: false, renderer: renderer(false, 'mzService'),
        style: function () { return {fillColor: service.color, color: service.color, weight: 1, fillOpacity: 0.15, opacity: 0.6}; }
      }));
    }

    function apply(style) {
      if (!style || style.layer !== o.layerId) { return false; }
      var current = state.style;
      if (current && style.seq !== undefined && current.seq !== undefined && style.seq < current.seq) { return false; }
      state.style = style;
      if (current && style.id !== undefined && style.id === current.id) { return true; }
      layer.eachLayer(function (l) { l.setStyle(styleOf(l.feature.properties.i)); });
      setFacilities(style.classes);
      setPlanned(style.planned);
      setService(style.service);
      if (map.__mzSetLegend) { map.__mzSetLegend(style.legend || ''); }
      if (!state.fitted && map.__mzFitArea) { state.fitted = true; map.__mzFitArea(); }
      window.__mzStyled = true;
      if (state.onMap) { drawn(); }
      window.__mzStyleCount = (window.__mzStyleCount || 0) + 1;
      // epoch ms of the animation frame that draws this style (after Leaflet's canvas redraw): tools/benchmark_map.py
      if (window.performance) {
        window.requestAnimationFrame(function () { window.__mzStyledAt = performance.timeOrigin + performance.now(); });
      }
      return true;
    }

    if (o.planned) { overlays[heads.planned] = plannedGroup; }
    overlays[heads.service] = serviceGroup;
    var control = L.control.layers(null, overlays, {collapsed: true}).addTo(map);
    if (heads.layers && control._layersLink) {
      control._layersLink.title = heads.layers;
      control._layersLink.setAttribute('aria-label', heads.layers);
    }

    window.__mzLayer = layer;
    window.__mzFacilities = facilityGroup;
    window.__mzLayerKind = o.kind;
    window.__mzLayerId = o.layerId;
    window.__mzMapKey = o.key;
    window.__mzApplyStyle = apply;
    // The page's latest style for this map: applied when it changes. The page's script also calls
    // apply directly; this look every 200 ms covers a frame that loads while the page is between
    // views (the style may arrive before or after the frame).
    function latest() {
      try {
        return window.parent && window.parent !== window && window.parent.__mzMapStyle ? window.parent.__mzMapStyle[o.key] : null;
      } catch (e) { return null; }
    }
    // When the layer was first on the map and styled, and when the animation frame that draws it
    // ran (after Leaflet's own, which draws the canvas), epoch ms on the page's own clock: read by
    // tools/benchmark_map.py (with the frame's first paint) for the first draw.
    function drawn() {
      if (window.__mzDrawnAt || !window.performance) { return; }
      window.__mzDrawnAt = performance.timeOrigin + performance.now();
      window.requestAnimationFrame(function () { window.__mzFrameAt = performance.timeOrigin + performance.now(); });
    }
    var seen = null;
    function look() {
      var s = latest();
      if (s && s !== seen) {
        seen = s;
        if (s !== state.style) { apply(s); }
      }
    }
    // The first style (inline, or the page's when it came before the frame) is applied before the
    // layers go on the map: its legend and fit to the area change the view, and a layer on the map
    // would be projected and drawn once per view change (a whole second time for 1,000+ shapes).
    if (o.inline) { apply(o.inline); } else { look(); window.setInterval(look, 200); }
    layer.addTo(map);
    if (overlays[heads.outlines]) { overlays[heads.outlines].addTo(map); }
    facilityGroup.addTo(map);
    serviceGroup.addTo(map);
    plannedGroup.addTo(map);
    state.onMap = true;
    if (window.__mzStyled) { drawn(); }
    // how long this took (ms; read by tools/benchmark_map.py)
    window.__mzCreateMs = window.performance ? performance.now() - started : null;
    return apply;
  }

  window.MzCoverage = {create: create, table: table, decode: decode};
}());
