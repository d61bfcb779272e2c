// One renderer for values and gradients alike: a tensor becomes one Plotly heatmap per
// filter (or a card, for a single number), coloured on the range the server computed.

import { colorOf, scaleFor, textOn } from "./colors.js";
import { cellText, full, short } from "./format.js";

const Plotly = () => window.Plotly;
const TEXT_LIMIT = 144; // cells beyond this are too small to print a value in

// Split a tensor into 2-D planes: [{prefix, z}] where prefix is the leading index.
export function planes(value, vertical = false) {
  if (!Array.isArray(value)) return [{ prefix: [], z: [[value]], scalar: true }];
  if (!Array.isArray(value[0])) {
    return [vertical
      ? { prefix: [], z: value.map((v) => [v]), vector: true, vertical: true }
      : { prefix: [], z: [value], vector: true }];
  }
  if (!Array.isArray(value[0][0])) return [{ prefix: [], z: value }];
  return value.map((z, f) => ({ prefix: [f], z }));
}

// The full index of cell (row, col) of a plane, in the tensor's own shape.
function fullIndex(plane, row, col) {
  if (plane.scalar) return [];
  if (plane.vector) return [plane.vertical ? row : col];
  return [...plane.prefix, row, col];
}

export class TensorView {
  constructor(container, { name, cell = 26, vertical = false, onHover, onLeave, onClick }) {
    this.container = container;
    this.name = name;
    this.vertical = vertical; // draw a 1-D tensor as a column
    this.cell = cell;
    this.handlers = { onHover, onLeave, onClick };
    this.plots = [];
    this.signature = "";
  }

  // Draw (or redraw) the tensor. range = {min, max, scale}.
  render(value, range) {
    const parts = planes(value, this.vertical);
    if (parts[0].scalar) {
      this.renderCard(value, range);
      return;
    }
    const shape = `${parts.length}x${parts[0].z.length}x${parts[0].z[0].length}`;
    if (shape !== this.signature) {
      this.container.replaceChildren();
      this.plots = parts.map((plane) => {
        const div = document.createElement("div");
        div.className = "plot";
        if (parts.length > 1) {
          const f = plane.prefix[0];
          div.dataset.filter = f;
          div.dataset.caption = plane.z[0].length * this.cell < 48 ? `f${f}` : `filter ${f}`;
        }
        this.container.append(div);
        return { div, plane, drawn: false };
      });
      this.signature = shape;
    }
    parts.forEach((plane, i) => this.draw(this.plots[i], plane, range));
  }

  draw(plot, plane, range) {
    plot.plane = plane;
    const rows = plane.z.length;
    const cols = plane.z[0].length;
    const showText = rows * cols <= TEXT_LIMIT && this.cell >= 16;
    const label = (r, c) => `${this.name}[${fullIndex(plane, r, c).join(",")}]`;
    const custom = plane.z.map((row, r) => row.map((v, c) => `${label(r, c)} = ${full(v)}`));
    const trace = {
      type: "heatmap",
      z: plane.z,
      zmin: range.min,
      zmax: range.max,
      colorscale: scaleFor(range.scale),
      showscale: false,
      xgap: this.cell >= 4 ? 1 : 0,
      ygap: this.cell >= 4 ? 1 : 0,
      customdata: custom,
      hovertemplate: "%{customdata}<extra></extra>",
      text: showText ? plane.z.map((row) => row.map(cellText)) : undefined,
      texttemplate: showText ? "%{text}" : undefined,
      textfont: { size: Math.max(8, Math.min(14, Math.floor(this.cell / 2.2))) },
    };
    // Plotly ignores a size under 10 px, so a long thin vector gets stretched cells instead.
    const width = Math.max(10, cols * this.cell);
    const height = Math.max(10, rows * this.cell);
    const axis = (n) => ({
      visible: false, range: [-0.5, n - 0.5], fixedrange: true,
    });
    const layout = {
      width, height, margin: { l: 0, r: 0, t: 0, b: 0 },
      xaxis: axis(cols), yaxis: { ...axis(rows), autorange: false, range: [rows - 0.5, -0.5] },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      shapes: [], hoverlabel: { font: { size: 12 } },
    };
    const config = { displayModeBar: false, staticPlot: false, responsive: false };
    if (!plot.drawn) {
      Plotly().newPlot(plot.div, [trace], layout, config);
      plot.drawn = true;
      plot.div.on("plotly_hover", (ev) => this.emit("onHover", plot, ev));
      plot.div.on("plotly_unhover", () => this.handlers.onLeave && this.handlers.onLeave(this.name));
      plot.div.on("plotly_click", (ev) => this.emit("onClick", plot, ev));
    } else {
      Plotly().react(plot.div, [trace], layout, config);
    }
    plot.div.dataset.values = JSON.stringify(plane.z);
  }

  // Every cell's full index, plane by plane, row by row (for keyboard inspection).
  cells() {
    const out = [];
    for (const { plane } of this.plots) {
      plane.z.forEach((row, r) => row.forEach((_, c) => out.push(fullIndex(plane, r, c))));
    }
    return out;
  }

  emit(kind, plot, ev) {
    const handler = this.handlers[kind];
    if (!handler || !ev.points || !ev.points.length) return;
    const p = ev.points[0];
    handler(this.name, fullIndex(plot.plane, p.y, p.x));
  }

  renderCard(value, range) {
    if (this.signature !== "card") {
      this.container.replaceChildren();
      const card = document.createElement("div");
      card.className = "card";
      card.tabIndex = 0;
      this.container.append(card);
      this.plots = [];
      this.signature = "card";
    }
    const card = this.container.firstChild;
    const numeric = typeof value === "number" && Number.isFinite(value);
    const bg = numeric ? colorOf(value, range) : "rgb(240, 240, 240)";
    card.style.background = bg;
    card.style.color = textOn(bg);
    // JSON has no infinity: the server sends null where a value overflows float64.
    card.textContent = value === null ? "overflow" : short(value);
    card.title = value === null ? `${this.name} is beyond float64 (about ±1.8e308)` : `${this.name} = ${full(value)}`;
    card.dataset.value = value === null ? "null" : String(value);
  }

  // Outline cells: [{index, kind}] where kind is "source" (thin) or "focus" (thick).
  highlight(marks) {
    for (const plot of this.plots) {
      const shapes = [];
      for (const { index, kind } of marks) {
        const plane = plot.plane;
        let row;
        let col;
        if (plane.vector) {
          [col] = index;
          row = 0;
          if (plane.vertical) [row, col] = [col, 0];
        } else {
          if (plane.prefix.length && index[0] !== plane.prefix[0]) continue;
          [row, col] = index.slice(plane.prefix.length);
        }
        shapes.push({
          type: "rect", xref: "x", yref: "y",
          x0: col - 0.5, x1: col + 0.5, y0: row - 0.5, y1: row + 0.5,
          line: { color: kind === "focus" ? "#f59e0b" : "#111827", width: kind === "focus" ? 3 : 2 },
          fillcolor: "rgba(0,0,0,0)",
        });
      }
      if (shapes.length || (plot.div.layout && plot.div.layout.shapes && plot.div.layout.shapes.length)) {
        Plotly().relayout(plot.div, { shapes });
      }
    }
    if (this.signature === "card") {
      this.container.firstChild.classList.toggle("marked", marks.length > 0);
    }
  }

  async png(filename) {
    for (const plot of this.plots) {
      await Plotly().downloadImage(plot.div, {
        format: "png",
        filename: this.plots.length > 1 ? `${filename}-filter${plot.plane.prefix[0]}` : filename,
        width: Math.max(200, plot.div.layout.width * 3), height: Math.max(200, plot.div.layout.height * 3),
      });
    }
  }
}
