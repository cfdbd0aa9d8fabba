// superpose report: the probe heatmap. Hand-written canvas code (no library): each kept model's hidden
// activations on its probe set (a feature model's: each feature alone, then samples of its data; a fact MLP's:
// every fact's key) as a neurons x probes heatmap, one frame per stored weight snapshot, with a step slider,
// play, a model picker and a hover read-out. Data: window.SUPERPOSE_PROBES (data/probes.js, written by
// superpose/lab/report_data.py probes_data): activations int16 with one scale per frame; -32768 marks a
// non-finite value, drawn grey.
(function () {
  "use strict";

  var P = window.SUPERPOSE_PROBES;
  var el = function (id) { return document.getElementById(id); };
  var state = { model: 0, frame: 0, playing: null };
  var LEFT = 64, TOP = 18, BAR = 46;

  function decode(b64, scales, count) {
    var bin = atob(b64), view = new DataView(new ArrayBuffer(bin.length)), out = new Float64Array(count);
    for (var i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
    var per = count / scales.length;
    for (var j = 0; j < count; j++) {
      var q = view.getInt16(2 * j, true);
      out[j] = q === -32768 ? NaN : q * scales[Math.floor(j / per)];
    }
    return out;
  }

  // Diverging blue-white-red for signed activations, black-to-yellow for non-negative ones (ReLU).
  function colour(v, peak, signed) {
    if (!isFinite(v)) return "#bbb";
    var t = Math.max(-1, Math.min(1, v / peak));
    if (signed) {
      var a = Math.abs(t), base = t > 0 ? [178, 24, 43] : [33, 102, 172];
      return "rgb(" + base.map(function (c) { return Math.round(255 + a * (c - 255)); }).join(",") + ")";
    }
    var stops = [[0, 0, 4], [120, 28, 109], [237, 105, 37], [252, 255, 164]];
    var x = Math.max(0, t) * (stops.length - 1), i = Math.min(Math.floor(x), stops.length - 2), f = x - i;
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(stops[i][k] + f * (stops[i + 1][k] - stops[i][k])); }).join(",") + ")";
  }

  function prepare(entry) {
    if (entry.values) return entry;
    var k = P.steps.length, count = k * P.m * P.n_probes;
    entry.values = decode(entry.hidden, entry.scale, count);
    var peak = 0, negative = false;
    for (var i = 0; i < count; i++) {
      var v = entry.values[i];
      if (isFinite(v)) { peak = Math.max(peak, Math.abs(v)); negative = negative || v < 0; }
    }
    entry.peak = peak || 1;
    entry.signed = negative;
    return entry;
  }

  function layout() {
    var canvas = el("heatmap");
    var cw = Math.max(3, Math.min(28, Math.floor(860 / P.n_probes)));
    var ch = Math.max(6, Math.min(28, Math.floor(300 / P.m)));
    return { canvas: canvas, cw: cw, ch: ch, width: LEFT + cw * P.n_probes + 20, height: TOP + ch * P.m + BAR + 24 };
  }

  function draw() {
    var entry = prepare(P.models[state.model]), L = layout(), canvas = L.canvas;
    if (canvas.width !== L.width) canvas.width = L.width;
    if (canvas.height !== L.height) canvas.height = L.height;
    var ctx = canvas.getContext("2d"), base = state.frame * P.m * P.n_probes;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    for (var r = 0; r < P.m; r++) {
      for (var c = 0; c < P.n_probes; c++) {
        ctx.fillStyle = colour(entry.values[base + r * P.n_probes + c], entry.peak, entry.signed);
        ctx.fillRect(LEFT + c * L.cw, TOP + r * L.ch, L.cw, L.ch);
      }
    }
    ctx.fillStyle = "#333";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    var every = Math.max(1, Math.ceil(12 / L.ch));
    for (r = 0; r < P.m; r += every) ctx.fillText("h" + r, LEFT - 6, TOP + (r + 0.5) * L.ch);
    if (P.n_onehot > 0 && P.n_onehot < P.n_probes) {  // one-hot features | data samples
      ctx.strokeStyle = "#000";
      ctx.beginPath();
      ctx.moveTo(LEFT + P.n_onehot * L.cw + 0.5, TOP - 4);
      ctx.lineTo(LEFT + P.n_onehot * L.cw + 0.5, TOP + P.m * L.ch + 4);
      ctx.stroke();
    }
    var y0 = TOP + P.m * L.ch + 6;
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    if (entry.ablation) {  // the measured importance under each one-hot column, scaled to its largest
      var top = Math.max.apply(null, entry.ablation.map(function (v) { return Math.abs(v) || 0; })) || 1;
      ctx.fillStyle = "#1f77b4";
      entry.ablation.forEach(function (v, i) {
        var h = Math.max(0, (v || 0) / top) * (BAR - 14);
        ctx.fillRect(LEFT + i * L.cw + 1, y0 + BAR - 14 - h, Math.max(1, L.cw - 2), h);
      });
      ctx.fillStyle = "#333";
      ctx.fillText("measured importance (ablation) of each feature", LEFT, y0 + BAR - 10);
    } else {
      ctx.fillText(P.kind === "facts" ? "fact keys (e_first + e_last)" : "probes", LEFT, y0 + 4);
    }
    var step = P.steps[state.frame];
    var text = "step " + step.toLocaleString() + " (" + (state.frame + 1) + " of " + P.steps.length + " frames shown)";
    if (entry.accuracy) text += ", " + Math.round(100 * entry.accuracy[state.frame]) + "% of facts stored";
    el("probe-label").textContent = text;
    canvas.setAttribute("data-step", String(step));
    canvas.setAttribute("data-model", String(state.model));
  }

  function hover(ev) {
    var L = layout(), rect = L.canvas.getBoundingClientRect();
    var x = (ev.clientX - rect.left) * (L.canvas.width / rect.width) - LEFT;
    var y = (ev.clientY - rect.top) * (L.canvas.height / rect.height) - TOP;
    var c = Math.floor(x / L.cw), r = Math.floor(y / L.ch);
    if (c < 0 || r < 0 || c >= P.n_probes || r >= P.m) return;
    var entry = prepare(P.models[state.model]);
    var v = entry.values[state.frame * P.m * P.n_probes + r * P.n_probes + c];
    el("probe-hover").textContent = "neuron h" + r + ", " + P.probe_names[c] + ": " + (isFinite(v) ? v.toPrecision(4) : "not finite");
  }

  function start() {
    var pick = el("probe-model"), slider = el("probe-slider");
    P.models.forEach(function (m, i) {
      var opt = document.createElement("option");
      opt.value = String(i);
      opt.textContent = m.label + (P.models.length > 1 ? " (model " + (i + 1) + ")" : "");
      pick.appendChild(opt);
    });
    pick.addEventListener("change", function () { state.model = Number(pick.value); draw(); });
    slider.max = String(P.steps.length - 1);
    state.frame = P.steps.length - 1;
    slider.value = String(state.frame);
    slider.addEventListener("input", function () { state.frame = Number(slider.value); draw(); });
    el("probe-play").addEventListener("click", function () {
      if (state.playing) { clearInterval(state.playing); state.playing = null; return; }
      if (state.frame >= P.steps.length - 1) state.frame = 0;
      state.playing = setInterval(function () {
        state.frame += 1;
        if (state.frame >= P.steps.length - 1) { state.frame = P.steps.length - 1; clearInterval(state.playing); state.playing = null; }
        slider.value = String(state.frame);
        draw();
      }, 120);
    });
    el("heatmap").addEventListener("mousemove", hover);
    el("probe-help").textContent = P.kind === "facts"
      ? "Rows: the MLP's neurons; columns: every fact's key. Colour: the neuron's activation (ReLU, black = silent)."
      : "Rows: the hidden dimensions; columns: each feature alone at 1 (left of the line), then fixed samples of the run's data. Colour: the hidden activation (red +, blue -).";
    draw();
  }

  if (!P) { el("probe-label").textContent = "no probe data (data/probes.js missing)"; return; }
  start();
})();
