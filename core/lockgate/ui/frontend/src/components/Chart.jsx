// Line charts on uPlot: many series, step / wall-clock / relative-time x, log y, smoothing,
// and drag-to-zoom that asks the caller for detail in the new x range.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { num } from "../format.js";

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d", "#7c3aed", "#ca8a04"];
export const color = (i) => PALETTE[i % PALETTE.length];

function smooth(ys, weight) {
  if (!weight) return ys;
  const out = new Array(ys.length);
  let last = null;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || !Number.isFinite(y)) { out[i] = y; continue; }
    last = last === null ? y : last * weight + (1 - weight) * y;
    out[i] = last;
  }
  return out;
}

// series: [{label, points: [{step, timestamp, value}]}]; xMode: step | wall | relative
export function toData(series, xMode, smoothing) {
  const xsOf = (s) => {
    const t0 = s.points.length ? s.points[0].timestamp : 0;
    return s.points.map((p) => (xMode === "step" ? p.step : xMode === "wall" ? p.timestamp / 1000 : (p.timestamp - t0) / 1000));
  };
  if (series.length === 1) {
    const s = series[0];
    return [xsOf(s), smooth(s.points.map((p) => num(p.value)), smoothing)];
  }
  const tables = series.map((s) => [xsOf(s), smooth(s.points.map((p) => num(p.value)), smoothing)]);
  return uPlot.join(tables);
}

export function LineChart({ series, xMode = "step", logY = false, smoothing = 0, height = 220, title, onZoom, testId }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const data = toData(series, xMode, smoothing);
    const width = Math.max(240, el.clientWidth || 480);
    const opts = {
      width,
      height,
      title,
      legend: { show: series.length <= 12 },
      scales: { x: { time: xMode === "wall" }, y: { distr: logY ? 3 : 1 } },
      axes: [{ stroke: "currentColor", grid: { stroke: "rgba(128,128,128,.2)" } },
        { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,.2)" }, size: 60 }],
      series: [{ label: xMode === "step" ? "step" : xMode === "wall" ? "time" : "seconds" },
        // Short series get point markers: a one-point series has no line to draw.
        ...series.map((s, i) => ({ label: s.label, stroke: color(i), width: 1.5, spanGaps: true,
          points: { show: s.points.length <= 60, size: 5, fill: color(i) } }))],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setSelect: [(u) => {
          if (!onZoom || u.select.width < 2) return;
          const lo = u.posToVal(u.select.left, "x");
          const hi = u.posToVal(u.select.left + u.select.width, "x");
          onZoom(lo, hi);
        }],
      },
    };
    if (logY) {
      // log scales cannot show values <= 0: blank them rather than fail
      for (let i = 1; i < data.length; i++) data[i] = data[i].map((v) => (v !== null && v > 0 ? v : null));
    }
    plot.current = new uPlot(opts, data, el);
    const resize = () => plot.current && plot.current.setSize({ width: Math.max(240, el.clientWidth), height });
    window.addEventListener("resize", resize);
    return () => { window.removeEventListener("resize", resize); plot.current.destroy(); plot.current = null; };
  }, [series, xMode, logY, smoothing, height, title]);
  return <div class="chart" ref={box} data-testid={testId} />;
}

// Parallel coordinates over numeric axes: one polyline per run on a plain canvas.
export function ParallelCoords({ axes, rows, height = 320, testId }) {
  const ref = useRef(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const width = Math.max(320, canvas.parentElement.clientWidth || 640);
    const dpr = window.devicePixelRatio || 1;
    canvas.width = width * dpr; canvas.height = height * dpr;
    canvas.style.width = `${width}px`; canvas.style.height = `${height}px`;
    const ctx = canvas.getContext("2d");
    ctx.scale(dpr, dpr);
    const fg = getComputedStyle(canvas).color;
    const pad = { l: 40, r: 40, t: 30, b: 20 };
    const n = axes.length;
    if (n < 2) { ctx.fillStyle = fg; ctx.fillText("Choose at least two axes.", 20, 30); return; }
    const ext = axes.map((a) => {
      const vals = rows.map((r) => r.values[a.id]).filter((v) => v !== null && Number.isFinite(v));
      const lo = Math.min(...vals), hi = Math.max(...vals);
      return vals.length ? [lo, hi === lo ? lo + 1 : hi] : [0, 1];
    });
    const xAt = (i) => pad.l + (i * (width - pad.l - pad.r)) / (n - 1);
    const yAt = (i, v) => pad.t + (1 - (v - ext[i][0]) / (ext[i][1] - ext[i][0])) * (height - pad.t - pad.b);
    ctx.globalAlpha = rows.length > 200 ? 0.35 : 0.8;
    rows.forEach((r, k) => {
      ctx.strokeStyle = color(k);
      ctx.beginPath();
      let pen = false;
      axes.forEach((a, i) => {
        const v = r.values[a.id];
        if (v === null || !Number.isFinite(v)) { pen = false; return; }
        if (pen) ctx.lineTo(xAt(i), yAt(i, v)); else ctx.moveTo(xAt(i), yAt(i, v));
        pen = true;
      });
      ctx.stroke();
    });
    ctx.globalAlpha = 1;
    ctx.strokeStyle = fg; ctx.fillStyle = fg; ctx.font = "12px system-ui, sans-serif"; ctx.textAlign = "center";
    axes.forEach((a, i) => {
      ctx.beginPath(); ctx.moveTo(xAt(i), pad.t); ctx.lineTo(xAt(i), height - pad.b); ctx.stroke();
      ctx.fillText(a.label.length > 24 ? a.label.slice(0, 23) + "…" : a.label, xAt(i), 14);
      ctx.fillText(String(Number(ext[i][1].toPrecision(4))), xAt(i), pad.t - 4);
      ctx.fillText(String(Number(ext[i][0].toPrecision(4))), xAt(i), height - 6);
    });
  }, [axes, rows, height]);
  return <canvas ref={ref} class="pc" data-testid={testId} role="img" aria-label="Parallel coordinates chart" />;
}

// A scatter of two numeric values per run.
export function Scatter({ points, xLabel, yLabel, height = 300, testId }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const pts = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    const data = [pts.map((p) => p.x), pts.map((p) => p.y)];
    const u = new uPlot({
      width: Math.max(240, el.clientWidth || 480), height,
      scales: { x: { time: false } },
      legend: { show: false },
      axes: [{ stroke: "currentColor", label: xLabel }, { stroke: "currentColor", label: yLabel, size: 60 }],
      series: [{}, { stroke: color(0), paths: () => null, points: { show: true, size: 6, fill: color(0) } }],
    }, data, el);
    return () => u.destroy();
  }, [points, xLabel, yLabel, height]);
  return <div class="chart" ref={box} data-testid={testId} />;
}
