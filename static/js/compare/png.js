// The pair as one picture for lecture notes, drawn at twice the screen's resolution as the
// explorer's PNG is: per side its title (the letter and what sets the network apart), the
// step, the tensor's cells with their values, the differing cells outlined, and the colour
// scale's two ends; a side that waits says so.

import { colorOf, textOn } from "../common/colors.js";
import { cellText, short } from "../common/format.js";
import { planeName, planes } from "../common/heatmap.js";

const CELL = 56;
const PAD = 18;
const GAP = 14;
const SIDE_GAP = 40;

function measure(side, ctx, family) {
  ctx.font = `bold 20px ${family}`;
  const titleW = ctx.measureText(side.title).width;
  ctx.font = `15px ${family}`;
  const subW = Math.max(ctx.measureText(side.subtitle).width, ctx.measureText(side.name).width);
  if (!side.view) return { parts: [], width: Math.max(260, titleW, subW), gridH: CELL };
  const parts = planes(side.view.value, side.view.vertical);
  const widths = parts.map((p) => p.z[0].length * CELL);
  const captions = parts.length > 1 ? 20 : 0;
  const gridH = Math.max(...parts.map((p) => p.z.length)) * CELL + captions;
  const gridW = widths.reduce((sum, w) => sum + w + GAP, -GAP);
  return { parts, widths, captions, gridH, width: Math.ceil(Math.max(240, titleW, subW, gridW)) };
}

function drawSide(ctx, side, box, x0, top, family) {
  ctx.textAlign = "left";
  ctx.textBaseline = "alphabetic";
  ctx.fillStyle = "#111827";
  ctx.font = `bold 20px ${family}`;
  ctx.fillText(side.title, x0, top + 18);
  ctx.font = `15px ${family}`;
  ctx.fillStyle = "#4b5563";
  ctx.fillText(side.subtitle, x0, top + 40);
  ctx.fillStyle = "#111827";
  ctx.font = `bold 16px ${family}`;
  ctx.fillText(side.name, x0, top + 64);
  const gridTop = top + 76;
  if (!side.view) {
    ctx.font = `15px ${family}`;
    ctx.fillStyle = "#4b5563";
    ctx.fillText("waits: no step here", x0, gridTop + 24);
    return;
  }
  const { range } = side.view;
  const differs = new Set((Array.isArray(side.differs) ? side.differs : []).map((i) => JSON.stringify(i)));
  let x = x0;
  box.parts.forEach((plane, p) => {
    if (box.captions) {
      ctx.font = `14px ${family}`;
      ctx.fillStyle = "#4b5563";
      ctx.textAlign = "left";
      ctx.fillText(planeName(plane.prefix), x, gridTop + 14);
    }
    ctx.font = `16px ${family}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    plane.z.forEach((row, r) => row.forEach((v, c) => {
      const bg = Number.isFinite(v) ? colorOf(v, range) : "rgb(240, 240, 240)";
      const y = gridTop + box.captions + r * CELL;
      ctx.fillStyle = bg;
      ctx.fillRect(x + c * CELL, y, CELL - 1, CELL - 1);
      ctx.fillStyle = textOn(bg);
      ctx.fillText(cellText(v, CELL - 6, 16), x + c * CELL + CELL / 2, y + CELL / 2);
      const index = plane.scalar ? [] : plane.vector ? [plane.vertical ? r : c] : [...plane.prefix, r, c];
      if (differs.has(JSON.stringify(index))) {
        ctx.save();
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 3;
        ctx.strokeStyle = textOn(bg);
        ctx.strokeRect(x + c * CELL + 2.5, y + 2.5, CELL - 6, CELL - 6);
        ctx.restore();
      }
    }));
    ctx.textBaseline = "alphabetic";
    x += box.widths[p] + GAP;
  });
  const ly = gridTop + box.gridH + GAP;
  const barW = Math.min(220, box.width);
  const gradient = ctx.createLinearGradient(x0, 0, x0 + barW, 0);
  for (let k = 0; k <= 10; k += 1) gradient.addColorStop(k / 10, colorOf(range.min + ((range.max - range.min) * k) / 10, range));
  ctx.fillStyle = gradient;
  ctx.fillRect(x0, ly, barW, 14);
  ctx.strokeStyle = "#d1d5db";
  ctx.strokeRect(x0, ly, barW, 14);
  ctx.fillStyle = "#111827";
  ctx.font = `14px ${family}`;
  ctx.textAlign = "left";
  ctx.fillText(short(range.min), x0, ly + 32);
  ctx.textAlign = "right";
  ctx.fillText(short(range.max), x0 + barW, ly + 32);
}

// sides: [{title, subtitle, name, view (a drawn TensorView, or null: waits), differs}]
export function pairPng(filename, sides, note) {
  const family = getComputedStyle(document.documentElement).fontFamily || "sans-serif";
  const ruler = document.createElement("canvas").getContext("2d");
  const boxes = sides.map((s) => measure(s, ruler, family));
  ruler.font = `15px ${family}`;
  const noteW = note ? ruler.measureText(note).width : 0;
  const sideW = boxes.reduce((sum, b) => sum + b.width + SIDE_GAP, -SIDE_GAP);
  const width = Math.ceil(Math.max(sideW, Math.min(noteW, 900)) + 2 * PAD);
  // the note (the engine's sentence) wraps at the picture's width
  const lines = [];
  if (note) {
    let line = "";
    for (const word of note.split(" ")) {
      const next = line ? `${line} ${word}` : word;
      if (ruler.measureText(next).width > width - 2 * PAD && line) {
        lines.push(line);
        line = word;
      } else {
        line = next;
      }
    }
    lines.push(line);
  }
  const noteH = lines.length * 20 + (lines.length ? 10 : 0);
  const height = PAD + 76 + Math.max(...boxes.map((b) => b.gridH)) + GAP + 44 + noteH + PAD;
  const scale = 2;
  const canvas = document.createElement("canvas");
  canvas.width = width * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext("2d");
  ctx.scale(scale, scale);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  let x = PAD;
  sides.forEach((side, i) => {
    drawSide(ctx, side, boxes[i], x, PAD, family);
    x += boxes[i].width + SIDE_GAP;
  });
  ctx.fillStyle = "#111827";
  ctx.font = `15px ${family}`;
  ctx.textAlign = "left";
  ctx.textBaseline = "alphabetic";
  lines.forEach((line, i) => ctx.fillText(line, PAD, height - PAD - noteH + 20 * (i + 1)));
  const a = document.createElement("a");
  a.href = canvas.toDataURL("image/png");
  a.download = `${filename}.png`;
  document.body.append(a);
  a.click();
  a.remove();
}
