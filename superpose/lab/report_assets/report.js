// superpose report: loss charts on run pages, drawn on <canvas> from the JSON embedded in the page.
// Shared with viewer.js: window.SuperposeCharts (axes, log scales, viridis colours).
(function () {
  "use strict";

  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

  function viridis(t) {
    t = Math.min(1, Math.max(0, isFinite(t) ? t : 0));
    var x = t * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - i;
    var a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(a[k] + f * (b[k] - a[k])); }).join(",") + ")";
  }

  function range(values, positiveOnly) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) {
      if (v === null || !isFinite(v) || (positiveOnly && v <= 0)) return;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    });
    return lo <= hi ? [lo, hi] : null;
  }

  function formatTick(v) {
    var a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 1e4 || a < 1e-3) return v.toExponential(0).replace("e+", "e");
    return String(Number(v.toPrecision(3)));
  }

  // A chart frame: data ranges -> pixels, with axes, ticks and labels drawn. log: per axis.
  function Frame(ctx, box, xr, yr, xlog, ylog) {
    this.ctx = ctx; this.box = box; this.xlog = xlog; this.ylog = ylog;
    var t = function (v, log) { return log ? Math.log10(v) : v; };
    this.tx = function (v) { return t(v, xlog); };
    this.ty = function (v) { return t(v, ylog); };
    var x0 = this.tx(xr[0]), x1 = this.tx(xr[1]), y0 = this.ty(yr[0]), y1 = this.ty(yr[1]);
    if (x1 - x0 < 1e-12) { x0 -= 0.5; x1 += 0.5; }
    if (y1 - y0 < 1e-12) { y0 -= 0.5; y1 += 0.5; }
    var pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
    this.lim = [x0, x1, y0, y1];
  }
  Frame.prototype.px = function (x) {
    var b = this.box, l = this.lim; return b.x + (this.tx(x) - l[0]) / (l[1] - l[0]) * b.w;
  };
  Frame.prototype.py = function (y) {
    var b = this.box, l = this.lim; return b.y + b.h - (this.ty(y) - l[2]) / (l[3] - l[2]) * b.h;
  };
  Frame.prototype.ticks = function (lo, hi, log) {
    var out = [], k;
    if (log) {
      for (k = Math.ceil(lo); k <= Math.floor(hi); k++) out.push(Math.pow(10, k));
      if (out.length < 2) out = [Math.pow(10, lo), Math.pow(10, hi)];
      return out;
    }
    var span = hi - lo, step = Math.pow(10, Math.floor(Math.log10(span / 4)));
    if (span / step > 8) step *= 2;
    if (span / step > 8) step *= 2.5;
    for (k = Math.ceil(lo / step) * step; k <= hi + 1e-9 * span; k += step) out.push(k);
    return out;
  };
  Frame.prototype.axes = function (xlabel, ylabel) {
    var c = this.ctx, b = this.box, self = this, l = this.lim;
    c.save();
    c.strokeStyle = "#999"; c.lineWidth = 1; c.strokeRect(b.x, b.y, b.w, b.h);
    c.fillStyle = "#333"; c.font = "11px sans-serif"; c.textAlign = "center"; c.textBaseline = "top";
    this.ticks(l[0], l[1], this.xlog).forEach(function (v) {
      var x = self.px(v); if (x < b.x - 1 || x > b.x + b.w + 1) return;
      c.beginPath(); c.moveTo(x, b.y + b.h); c.lineTo(x, b.y + b.h + 4); c.stroke();
      c.fillText(formatTick(v), x, b.y + b.h + 6);
    });
    c.textAlign = "right"; c.textBaseline = "middle";
    this.ticks(l[2], l[3], this.ylog).forEach(function (v) {
      var y = self.py(v); if (y < b.y - 1 || y > b.y + b.h + 1) return;
      c.beginPath(); c.moveTo(b.x - 4, y); c.lineTo(b.x, y); c.stroke();
      c.fillText(formatTick(v), b.x - 6, y);
    });
    c.font = "12px sans-serif"; c.textAlign = "center"; c.textBaseline = "bottom";
    c.fillText(xlabel + (this.xlog ? " (log)" : ""), b.x + b.w / 2, b.y + b.h + 36);
    c.save(); c.translate(b.x - 46, b.y + b.h / 2); c.rotate(-Math.PI / 2);
    c.textBaseline = "top"; c.fillText(ylabel + (this.ylog ? " (log)" : ""), 0, -6); c.restore();
    c.restore();
  };
  Frame.prototype.line = function (xs, ys, color, width) {
    var c = this.ctx, started = false, self = this;
    c.save(); c.beginPath(); c.rect(this.box.x, this.box.y, this.box.w, this.box.h); c.clip();
    c.strokeStyle = color; c.lineWidth = width || 1.2; c.beginPath();
    xs.forEach(function (x, i) {
      var y = ys[i];
      if (y === null || !isFinite(y) || (self.ylog && y <= 0) || (self.xlog && x <= 0)) { started = false; return; }
      if (started) c.lineTo(self.px(x), self.py(y)); else c.moveTo(self.px(x), self.py(y));
      started = true;
    });
    c.stroke(); c.restore();
  };

  // A loss chart of one entry of report_data.loss_curves (curves or quantile bands) on a canvas.
  function drawLoss(canvas, entry, marker) {
    var ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    var steps = entry.steps, all = [];
    var series = entry.curves || entry.bands || [];
    series.forEach(function (s) { all = all.concat(s); });
    var xlog = steps.length > 1 && steps[0] >= 0 && steps[steps.length - 1] / Math.max(steps[1], 1) > 20;
    var xs = xlog ? steps.map(function (s) { return Math.max(s, 1); }) : steps;
    var ypos = range(all, true), yall = range(all, false);
    if (!yall) { ctx.fillText("no finite values", 20, 20); return null; }
    var ylog = ypos !== null && yall[0] > 0 && ypos[1] / ypos[0] > 10;
    var box = { x: 64, y: 14, w: canvas.width - 84, h: canvas.height - 62 };
    var frame = new Frame(ctx, box, range(xs, xlog), ylog ? ypos : yall, xlog, ylog);
    if (entry.curves) {
      entry.curves.forEach(function (ys, i) {
        frame.line(xs, ys, viridis(entry.curves.length > 1 ? i / (entry.curves.length - 1) : 0.3), 1.2);
      });
    } else {
      [[0, "#bbb"], [4, "#bbb"], [1, "#6a8caf"], [3, "#6a8caf"], [2, "#123"]].forEach(function (p) {
        frame.line(xs, entry.bands[p[0]], p[1], p[0] === 2 ? 2 : 1);
      });
    }
    frame.axes(entry.x_label || "step", "loss");
    if (marker) marker(frame, xs);
    return frame;
  }

  window.SuperposeCharts = { viridis: viridis, range: range, Frame: Frame, drawLoss: drawLoss };

  function init() {
    var holder = document.getElementById("loss-data");
    if (!holder) return;
    var curves = JSON.parse(holder.textContent);
    Array.prototype.forEach.call(document.querySelectorAll("canvas.loss-chart"), function (canvas) {
      drawLoss(canvas, curves[Number(canvas.getAttribute("data-curve"))]);
      canvas.setAttribute("data-drawn", "1");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
