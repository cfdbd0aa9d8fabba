// superpose report: the geometry viewer. Hand-written canvas code (no library): a step slider, an instance
// picked by its coordinates, the feature vectors W_i in 2-D, a rotatable 3-D view (drag), or for m > 3 the
// W^T W heatmap with each feature's dimensionality D_i against the guide fractions; the loss with the step.
// Data: window.SUPERPOSE_VIEWER_META (data/viewer-meta.js) and one data/instance-I.js per instance, loaded
// with a script tag when first chosen (file:// pages cannot fetch JSON). Weights are int16 with one scale per
// snapshot (superpose/lab/report_data.py); -32768 marks a non-finite value, which is not drawn.
(function () {
  "use strict";

  var META = window.SUPERPOSE_VIEWER_META;
  var Charts = window.SuperposeCharts;
  var GUIDES = [[1, "1"], [3 / 4, "3/4"], [2 / 3, "2/3"], [1 / 2, "1/2"], [2 / 5, "2/5"], [3 / 8, "3/8"]];
  var TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  var loaded = {}, waiting = {};
  var state = { instance: null, snap: 0, yaw: 0.6, pitch: 0.35, playing: null };
  var el = function (id) { return document.getElementById(id); };

  window.SUPERPOSE_VIEWER_INSTANCE = function (i, entry) {
    var k = META.steps.length, mn = META.m * META.n;
    entry.Wv = decode(entry.W, entry.W_scale, k * mn);
    if (entry.b) entry.bv = decode(entry.b, entry.b_scale, k * META.n);
    var peak = 0;
    for (var j = 0; j < entry.Wv.length; j++) if (isFinite(entry.Wv[j])) peak = Math.max(peak, Math.abs(entry.Wv[j]));
    entry.peakNorm = 0;
    for (var s = 0; s < k; s++) {
      for (var f = 0; f < META.n; f++) entry.peakNorm = Math.max(entry.peakNorm, norm(column(entry, s, f)));
    }
    loaded[i] = entry;
    (waiting[i] || []).forEach(function (fn) { fn(); });
    delete waiting[i];
  };

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

  // W [m, n] of snapshot s is stored row-major: W[s][r][c] at s*m*n + r*n + c.
  function column(entry, s, f) {
    var out = [], base = s * META.m * META.n;
    for (var r = 0; r < META.m; r++) out.push(entry.Wv[base + r * META.n + f]);
    return out;
  }
  function norm(v) { var t = 0; v.forEach(function (x) { t += x * x; }); return Math.sqrt(t); }
  function dot(a, b) { var t = 0; for (var i = 0; i < a.length; i++) t += a[i] * b[i]; return t; }
  function finite(v) { return v.every(function (x) { return isFinite(x); }); }

  function load(i, then) {
    if (loaded[i]) { then(); return; }
    if (waiting[i]) { waiting[i].push(then); return; }
    waiting[i] = [then];
    var tag = document.createElement("script");
    tag.src = "data/instance-" + i + ".js";
    tag.onerror = function () { el("notes").textContent = "could not load data/instance-" + i + ".js"; };
    document.body.appendChild(tag);
  }

  function colors(entry) {
    var imp = entry.importance, n = META.n;
    if (!imp) return Array.from({ length: n }, function (_, f) { return TAB10[f % 10]; });
    var lo = Math.min.apply(null, imp), hi = Math.max.apply(null, imp);
    return imp.map(function (v) { return Charts.viridis(hi > lo ? (v - lo) / (hi - lo) : 1); });
  }

  function fmt(v) { return typeof v === "number" && !Number.isInteger(v) ? String(Number(v.toPrecision(4))) : String(v); }
  function label(inst) {
    var parts = META.coordinates.map(function (k) { return k + " " + fmt(inst.coords[k]); });
    return "#" + inst.index + (parts.length ? " (" + parts.join(", ") + ")" : "") + (inst.diverged ? " diverged" : "");
  }

  // --- pickers: one select per coordinate with several values, and the instance itself ---
  function buildPickers() {
    var holder = el("pickers"), coords = META.coordinates.filter(function (k) {
      return new Set(META.instances.map(function (x) { return x.coords[k]; })).size > 1;
    });
    coords.forEach(function (k) {
      var values = Array.from(new Set(META.instances.map(function (x) { return x.coords[k]; })));
      values.sort(function (a, b) { return a - b; });
      var lab = document.createElement("label"), sel = document.createElement("select");
      sel.id = "pick-" + k; sel.setAttribute("data-coordinate", k);
      values.forEach(function (v) { var o = document.createElement("option"); o.value = String(v); o.textContent = fmt(v); sel.appendChild(o); });
      sel.addEventListener("change", function () { pickByCoordinates(k); });
      lab.appendChild(document.createTextNode(k + " ")); lab.appendChild(sel); holder.appendChild(lab);
    });
    var lab = document.createElement("label"), sel = document.createElement("select");
    sel.id = "pick-instance";
    META.instances.forEach(function (inst) {
      var o = document.createElement("option"); o.value = String(inst.index); o.textContent = label(inst); sel.appendChild(o);
    });
    sel.addEventListener("change", function () { choose(Number(sel.value)); });
    lab.appendChild(document.createTextNode("instance ")); lab.appendChild(sel); holder.appendChild(lab);
    return coords;
  }

  function pickByCoordinates(changed) {
    var wanted = {};
    Array.prototype.forEach.call(document.querySelectorAll("select[data-coordinate]"), function (s) {
      wanted[s.getAttribute("data-coordinate")] = s.value;
    });
    var match = function (inst, keys) { return keys.every(function (k) { return String(inst.coords[k]) === wanted[k]; }); };
    var keys = Object.keys(wanted);
    var hit = META.instances.find(function (x) { return match(x, keys); }) ||
      META.instances.find(function (x) { return match(x, [changed]); });
    if (hit) choose(hit.index);
  }

  function syncPickers(inst) {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-coordinate]"), function (s) {
      s.value = String(inst.coords[s.getAttribute("data-coordinate")]);
    });
    el("pick-instance").value = String(inst.index);
  }

  function choose(i) {
    var inst = META.instances.find(function (x) { return x.index === i; });
    state.instance = i;
    syncPickers(inst);
    el("step-label").textContent = "loading…";
    load(i, function () { if (state.instance === i) draw(); });
  }

  // --- drawing ---
  function draw() {
    var entry = loaded[state.instance];
    if (!entry) return;
    var inst = META.instances.find(function (x) { return x.index === state.instance; });
    var s = state.snap, step = META.steps[s], canvas = el("geometry");
    canvas.setAttribute("data-step", String(step));
    canvas.setAttribute("data-instance", String(state.instance));
    el("step-label").textContent = "step " + step.toLocaleString("en-US") + "  (snapshot " + (s + 1) + " of " + META.steps.length + ")";
    var notes = [];
    if (inst.diverged) notes.push("This instance diverged (non-finite weights); what is finite is drawn.");
    if (META.steps.length < META.n_snapshots) notes.push(META.steps.length + " of " + META.n_snapshots + " snapshots kept (evenly spaced, first and last included).");
    if (META.instances.length < META.n_instances) notes.push(META.instances.length + " of " + META.n_instances + " instances kept (evenly spaced over the grid).");
    el("notes").textContent = notes.join(" ");
    var height = META.m > 3 ? 720 : 560;
    if (canvas.height !== height) canvas.height = height;
    var ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (META.m <= 2) drawPlane(ctx, canvas, entry, s);
    else if (META.m === 3) drawSpace(ctx, canvas, entry, s);
    else drawGram(ctx, canvas, entry, s);
    drawLossPanel(entry, step);
  }

  function title(ctx, text) {
    ctx.fillStyle = "#222"; ctx.font = "13px sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "top";
    ctx.fillText(text, 10, 8);
  }

  function drawPlane(ctx, canvas, entry, s) {
    var cx = canvas.width / 2, cy = canvas.height / 2 + 10, scale = (canvas.width / 2 - 30) / Math.max(entry.peakNorm, 1e-9);
    var col = colors(entry);
    ctx.strokeStyle = "#e3e3e3"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.arc(cx, cy, scale, 0, 2 * Math.PI); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(cx - scale, cy); ctx.lineTo(cx + scale, cy); ctx.moveTo(cx, cy - scale); ctx.lineTo(cx, cy + scale); ctx.stroke();
    ctx.fillStyle = "#aaa"; ctx.font = "10px sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "bottom";
    ctx.fillText("h0", cx + scale + 3, cy - 2);
    if (META.m > 1) ctx.fillText("h1", cx + 4, cy - scale - 2);
    for (var f = 0; f < META.n; f++) {
      var w = column(entry, s, f);
      if (!finite(w)) continue;
      var x = cx + w[0] * scale, y = cy - (META.m > 1 ? w[1] : 0) * scale;
      arrow(ctx, cx, cy, x, y, col[f], f);
    }
    title(ctx, "feature vectors W_i (circle: norm " + fmt(entry.peakNorm) + ")" + (entry.importance ? ", colour: importance (yellow = most)" : ""));
  }

  function arrow(ctx, x0, y0, x1, y1, color, f) {
    ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = 2.5;
    ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
    ctx.beginPath(); ctx.arc(x1, y1, 4, 0, 2 * Math.PI); ctx.fill();
    if (META.n <= 24) {
      ctx.fillStyle = "#333"; ctx.font = "11px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
      var dx = x1 - x0, dy = y1 - y0, d = Math.max(Math.hypot(dx, dy), 1e-9);
      ctx.fillText(String(f), x1 + 11 * dx / d, y1 + 11 * dy / d);
    }
  }

  function rotate(v) {
    var cy = Math.cos(state.yaw), sy = Math.sin(state.yaw), cp = Math.cos(state.pitch), sp = Math.sin(state.pitch);
    var x = cy * v[0] + sy * v[2], z = -sy * v[0] + cy * v[2], y = v[1];
    return [x, cp * y - sp * z, sp * y + cp * z];
  }

  function drawSpace(ctx, canvas, entry, s) {
    var cx = canvas.width / 2, cy = canvas.height / 2 + 10, scale = (canvas.width / 2 - 40) / Math.max(entry.peakNorm, 1e-9);
    var col = colors(entry);
    ctx.strokeStyle = "#e3e3e3"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.arc(cx, cy, scale, 0, 2 * Math.PI); ctx.stroke();
    [[1, 0, 0], [0, 1, 0], [0, 0, 1]].forEach(function (a, k) {
      var p = rotate(a.map(function (x) { return x * entry.peakNorm; }));
      ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(cx, cy); ctx.lineTo(cx + p[0] * scale, cy - p[1] * scale); ctx.stroke();
      ctx.fillStyle = "#aaa"; ctx.font = "10px sans-serif"; ctx.fillText("h" + k, cx + p[0] * scale + 4, cy - p[1] * scale);
    });
    var order = [];
    for (var f = 0; f < META.n; f++) {
      var w = column(entry, s, f);
      if (finite(w)) order.push([f, rotate(w)]);
    }
    order.sort(function (a, b) { return a[1][2] - b[1][2]; });  // far first, near drawn on top
    order.forEach(function (item) {
      var p = item[1];
      ctx.globalAlpha = 0.45 + 0.55 * (p[2] / Math.max(entry.peakNorm, 1e-9) + 1) / 2;
      arrow(ctx, cx, cy, cx + p[0] * scale, cy - p[1] * scale, col[item[0]], item[0]);
    });
    ctx.globalAlpha = 1;
    title(ctx, "feature vectors in 3-D: drag to rotate" + (entry.importance ? "; colour: importance" : ""));
  }

  function gramAndD(entry, s) {
    var n = META.n, cols = [], G = new Float64Array(n * n), D = new Float64Array(n);
    for (var f = 0; f < n; f++) cols.push(column(entry, s, f));
    for (var i = 0; i < n; i++) for (var j = i; j < n; j++) { G[i * n + j] = G[j * n + i] = dot(cols[i], cols[j]); }
    for (i = 0; i < n; i++) {
      var n2 = G[i * n + i], denom = 0;
      if (!(n2 > 1e-12)) { D[i] = n2 === n2 ? 0 : NaN; continue; }
      for (j = 0; j < n; j++) denom += G[i * n + j] * G[i * n + j] / n2;  // sum_j (W_hat_i . W_j)^2
      D[i] = n2 / denom;
    }
    return { G: G, D: D };
  }

  function rdbu(v, lim) {
    var t = Math.max(-1, Math.min(1, v / lim));
    if (!isFinite(t)) return [200, 200, 200];
    var a = t > 0 ? [33, 102, 172] : [178, 24, 43], u = Math.abs(t);
    return [247 + (a[0] - 247) * u, 247 + (a[1] - 247) * u, 247 + (a[2] - 247) * u];
  }

  function drawGram(ctx, canvas, entry, s) {
    var n = META.n, r = gramAndD(entry, s), G = r.G, D = r.D;
    // At least one pixel per feature up to the canvas width, so no row or column of W^T W is dropped.
    var size = Math.min(canvas.width - 110, Math.max(320, n)), x0 = 60, y0 = 34, lim = 1;
    for (var k = 0; k < n; k++) lim = Math.max(lim, Math.abs(G[k * n + k]) || 0);
    var img = ctx.createImageData(n, n);
    for (var i = 0; i < n * n; i++) {
      var c = rdbu(G[i], lim);
      img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
    }
    var tmp = document.createElement("canvas"); tmp.width = n; tmp.height = n; tmp.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tmp, x0, y0, size, size);
    ctx.strokeStyle = "#999"; ctx.strokeRect(x0, y0, size, size);
    ctx.fillStyle = "#333"; ctx.font = "11px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "top";
    ctx.fillText("feature j", x0 + size / 2, y0 + size + 4);
    ctx.save(); ctx.translate(x0 - 8, y0 + size / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "bottom"; ctx.fillText("feature i", 0, 0); ctx.restore();
    // colour bar
    var bx = x0 + size + 16;
    for (var p = 0; p < size; p++) {
      var c2 = rdbu(lim * (1 - 2 * p / size), lim);
      ctx.fillStyle = "rgb(" + c2.map(Math.round).join(",") + ")"; ctx.fillRect(bx, y0 + p, 12, 1);
    }
    ctx.fillStyle = "#333"; ctx.textAlign = "left"; ctx.textBaseline = "middle";
    ctx.fillText(fmt(lim), bx + 15, y0); ctx.fillText("0", bx + 15, y0 + size / 2); ctx.fillText(fmt(-lim), bx + 15, y0 + size);
    title(ctx, "W\u1d40W (blue +, red \u2212) and each feature's dimensionality D_i (guides: 1 to 3/8)");
    // D_i scatter with the guide fractions
    var box = { x: x0, y: y0 + size + 40, w: canvas.width - x0 - 60, h: canvas.height - (y0 + size + 40) - 48 };
    if (box.h < 40) return;
    var frame = new Charts.Frame(ctx, box, [0, Math.max(n - 1, 1)], [0, 1.05], false, false);
    ctx.save(); ctx.setLineDash([3, 3]); ctx.strokeStyle = "#bbb";
    GUIDES.forEach(function (g, k) {
      var y = frame.py(g[0]); ctx.beginPath(); ctx.moveTo(box.x, y); ctx.lineTo(box.x + box.w, y); ctx.stroke();
      ctx.fillStyle = "#777"; ctx.font = "10px sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "middle";
      ctx.fillText(g[1], box.x + box.w + 3 + (k % 2) * 22, y);  // alternate columns: 2/5 and 3/8 lie close
    });
    ctx.restore();
    var col = entry.importance ? colors(entry) : null;
    for (i = 0; i < n; i++) {
      if (!isFinite(D[i])) continue;
      ctx.fillStyle = col ? col[i] : "#1f4e79";
      ctx.beginPath(); ctx.arc(frame.px(i), frame.py(Math.min(D[i], 1.05)), n > 100 ? 2 : 3, 0, 2 * Math.PI); ctx.fill();
    }
    frame.axes("feature i", "D_i");
  }

  function drawLossPanel(entry, step) {
    var canvas = el("loss");
    if (!entry.loss || !META.log_steps) {
      var c = canvas.getContext("2d"); c.clearRect(0, 0, canvas.width, canvas.height);
      c.fillStyle = "#666"; c.fillText("no loss curve stored for this run", 20, 30); return;
    }
    Charts.drawLoss(canvas, { steps: META.log_steps, curves: [entry.loss], x_label: "step" }, function (frame, xs) {
      var ctx = canvas.getContext("2d"), x = frame.px(frame.xlog ? Math.max(step, 1) : step);
      ctx.save(); ctx.strokeStyle = "#d62728"; ctx.lineWidth = 1.5; ctx.beginPath();
      ctx.moveTo(x, frame.box.y); ctx.lineTo(x, frame.box.y + frame.box.h); ctx.stroke();
      ctx.fillStyle = "#d62728"; ctx.font = "11px sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "top";
      ctx.fillText("step " + step.toLocaleString("en-US"), Math.min(x + 4, frame.box.x + frame.box.w - 70), frame.box.y + 4);
      ctx.restore();
    });
  }

  // --- controls ---
  function setSnap(s) {
    state.snap = Math.max(0, Math.min(META.steps.length - 1, s));
    el("step-slider").value = String(state.snap);
    draw();
  }

  function init() {
    if (!META) { el("notes").textContent = "data/viewer-meta.js did not load"; return; }
    var coords = buildPickers();
    var slider = el("step-slider");
    slider.max = String(META.steps.length - 1);
    slider.addEventListener("input", function () { setSnap(Number(slider.value)); });
    el("play").addEventListener("click", function () {
      if (state.playing) { clearInterval(state.playing); state.playing = null; el("play").textContent = "play"; return; }
      if (state.snap >= META.steps.length - 1) setSnap(0);
      el("play").textContent = "pause";
      state.playing = setInterval(function () {
        if (state.snap >= META.steps.length - 1) { el("play").click(); return; }
        setSnap(state.snap + 1);
      }, 80);
    });
    var canvas = el("geometry"), drag = null;
    canvas.addEventListener("mousedown", function (ev) { drag = [ev.clientX, ev.clientY]; });
    window.addEventListener("mouseup", function () { drag = null; });
    window.addEventListener("mousemove", function (ev) {
      if (!drag || META.m !== 3) return;
      state.yaw += (ev.clientX - drag[0]) * 0.01;
      state.pitch = Math.max(-1.5, Math.min(1.5, state.pitch + (ev.clientY - drag[1]) * 0.01));
      drag = [ev.clientX, ev.clientY];
      draw();
    });
    el("help").textContent = "Drag the slider (or use the arrow keys on it) to move through training; play runs it." +
      (META.m === 3 ? " Drag the picture to rotate it." : "") +
      (coords.length ? " Choose the instance by " + coords.join(", ") + ", or directly." : "");
    state.snap = META.steps.length - 1;
    slider.value = String(state.snap);
    choose(META.instances[0].index);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
