// Breaking a MathML formula into lines, for every page that shows one (the explorer's
// explanation, the demo's slides). MathML does not wrap by itself. A formula too wide for
// its box is broken into lines before its top-level "=", "+", "−" and "←" (never inside
// brackets), after a top-level comma and between the words of its text, packed greedily,
// each continuation line indented; a table cell of words (a case's condition, "if A1 is the
// max of its window") is broken into lines of its own. Only what still cannot fit shrinks
// the type, never below a readable 14 px; if even that does not fit, the box scrolls
// sideways and says so (class "scrolls"): nothing is ever cut off.

const MATHML = "http://www.w3.org/1998/Math/MathML";
export const MIN_SIZE = 14;
const OPEN = new Set(["(", "[", "{", "⟨"]);
const CLOSE = new Set([")", "]", "}", "⟩"]);
const BREAK_BEFORE = new Set(["=", "+", "−", "-", "←", "≈"]);

const text = (el) => el.textContent.trim();
const isMo = (el, set) => el && el.localName === "mo" && set.has(text(el));
export const fits = (element) => element.scrollWidth <= element.clientWidth + 1;
// Widths from getBoundingClientRect are on screen; clientWidth is in the element's own CSS
// pixels. Under CSS zoom (the projector sizes) the two differ by the zoom.
const zoomOf = (element) => element.currentCSSZoom || 1;
// A space of an em or more between two formulas on one line ("A1 = ReLU(Z1) \quad P1 = …").
const wideSpace = (el) => el && el.localName === "mspace" && /^\s*(\d*\.?\d+)em\s*$/.test(el.getAttribute("width") || "")
  && parseFloat(el.getAttribute("width")) >= 1;

// Every <mtext> of several words becomes one <mtext> per word, so a line can break
// between them.
function splitWords(root) {
  for (const el of [...root.querySelectorAll("mtext")]) {
    const words = el.textContent.split(/(?<=[\s\u00a0])/u).filter(Boolean);
    if (words.length < 2) continue;
    el.replaceWith(...words.map((w) => Object.assign(document.createElementNS(MATHML, "mtext"), { textContent: w })));
  }
}
const wordBreak = (prev, child) => (prev && prev.localName === "mtext" && /[\s\u00a0]$/u.test(prev.textContent))
  || (child.localName === "mtext" && /^[\s\u00a0]/u.test(child.textContent));

// A grouping <mrow> (a bracketed vector, say) is opened up, so a long vector can break
// after one of its commas; fractions, roots and scripts stay whole, and so does a cell's
// index ("[0,1,0]" is not a group: it never breaks).
function tokens(row, nested = false) {
  return [...row.children].flatMap((child) => (child.localName === "mrow"
    ? tokens(child, true) : [[child, nested]]));
}

// Breaks: before a top-level operator; after a comma, unless it is inside a cell's index
// (square brackets, not a vector); between words. `spaces`: a top-level space of an em or
// more is a piece of its own, so two formulas written on one line may go on two.
function pieces(row, spaces = false) {
  const out = [[]];
  const open = []; // the brackets open at this point
  let prev = null;
  let prevNested = false;
  for (const [child, nested] of tokens(row)) {
    const comma = isMo(prev, new Set([","]));
    const current = out[out.length - 1];
    if (comma && (prevNested || open[open.length - 1] !== "[")) out.push([]);
    else if (current.length && wordBreak(prev, child)) out.push([]);
    else if (spaces && !open.length && current.length && (wideSpace(child) || wideSpace(prev))) out.push([]);
    const op = child.localName === "mo" ? text(child) : null;
    const binary = prev && !(isMo(prev, OPEN) || isMo(prev, BREAK_BEFORE));
    if (op && !open.length && binary && BREAK_BEFORE.has(op) && out[out.length - 1].length) out.push([]);
    if (op && OPEN.has(op)) open.push(op);
    if (op && CLOSE.has(op)) open.pop();
    out[out.length - 1].push(child);
    prev = child;
    prevNested = nested;
  }
  return out.filter((p) => p.length);
}

function widthOf(parts, zoom) {
  if (!parts.length) return 0;
  const first = parts[0].getBoundingClientRect();
  const last = parts[parts.length - 1].getBoundingClientRect();
  return Math.max(last.right - first.left, parts.reduce((w, el) => w + el.getBoundingClientRect().width, 0)) / zoom;
}

// Lines (lists of MathML elements) as a left-aligned table, each after the first indented.
function linesTable(lines, indentEm) {
  const table = document.createElementNS(MATHML, "mtable");
  table.setAttribute("columnalign", "left");
  table.setAttribute("rowspacing", "0.3em");
  table.dataset.lines = "";
  lines.forEach((parts, i) => {
    const tr = document.createElementNS(MATHML, "mtr");
    const td = document.createElementNS(MATHML, "mtd");
    td.setAttribute("columnalign", "left");
    const inner = document.createElementNS(MATHML, "mstyle"); // displaystyle is mstyle's
    inner.setAttribute("displaystyle", "true"); // a table cell would shrink fractions
    if (i > 0 && indentEm && !parts.fresh) {
      const indent = document.createElementNS(MATHML, "mspace");
      indent.setAttribute("width", `${indentEm}em`);
      inner.append(indent);
    }
    inner.append(...parts);
    td.append(inner);
    tr.append(td);
    table.append(tr);
  });
  return table;
}

// Greedy packing of pieces of the given widths into lines of at most room (the first
// line has no indent); a space that would start a line is dropped. `spaces`: a wide space
// between two formulas ends the line, and the next formula starts unindented (`fresh`).
function pack(groups, widths, room, indent, spaces = false) {
  const lines = [];
  let used = Infinity;
  let fresh = false;
  groups.forEach((parts, i) => {
    if (spaces && parts.every(wideSpace)) {
      fresh = lines.length > 0;
      return;
    }
    if (lines.length && !fresh && used + widths[i] <= room) {
      lines[lines.length - 1].push(...parts);
      used += widths[i];
    } else {
      const blank = parts.every((el) => el.localName === "mtext" && !el.textContent.trim());
      if (blank && lines.length) return;
      const line = [...parts];
      line.fresh = fresh;
      lines.push(line);
      used = widths[i] + (lines.length > 1 && !fresh ? indent : 0);
      fresh = false;
    }
  });
  return lines;
}

function breakLines(row, room, size, zoom, spaces) {
  const groups = pieces(row, spaces);
  if (groups.length < 2) return;
  const widths = groups.map((g) => widthOf(g, zoom) * 1.1 + 4); // operator spacing, rounding
  const lines = pack(groups, widths, room, 1.5 * size, spaces);
  if (lines.length > 1) row.replaceChildren(linesTable(lines, 1.5));
}

// The widest table cell holding words (not a line made above) is broken into lines narrow
// enough to take off what overflows. False when no cell could be narrowed.
function breakCells(element, zoom) {
  const over = element.scrollWidth - element.clientWidth + 2;
  const cells = [...element.querySelectorAll("mtd")]
    .filter((td) => !td.parentElement.parentElement.hasAttribute("data-lines") && td.querySelector("mtext"))
    .map((td) => [td, td.getBoundingClientRect().width / zoom])
    .sort((a, b) => b[1] - a[1]);
  for (const [td, width] of cells) {
    const row = td.children.length === 1 && td.firstElementChild.localName === "mrow" ? td.firstElementChild : td;
    const groups = pieces(row);
    if (groups.length < 2) continue;
    const widths = groups.map((g) => widthOf(g, zoom) * 1.05 + 1);
    const target = Math.max(Math.max(...widths), width - over);
    const lines = pack(groups, widths, target, 0);
    if (lines.length < 2) continue;
    td.replaceChildren(linesTable(lines, 0));
    return true;
  }
  return false;
}

// Fit the formulas of `element` (one <math>, or several one under another) to its width at
// `size` px: break, then shrink no further than `min`, then scroll.
// `spaces`: also break between formulas set on one line with a wide space.
export function wrapFormula(element, size, { min = MIN_SIZE, spaces = false } = {}) {
  element.classList.remove("scrolls");
  element.style.fontSize = `${size}px`;
  if (fits(element)) return;
  const maths = [...element.querySelectorAll("math")];
  const zoom = zoomOf(element);
  const style = getComputedStyle(element);
  const room = element.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 2;
  // of several formulas, those wider than the box (one alone: it is what overflows)
  const rows = maths.map((math) => [math, math.firstElementChild]).filter(([, row]) => row
    && (maths.length === 1 || row.getBoundingClientRect().width / zoom > room));
  for (const [math, row] of rows) {
    splitWords(math);
    if (row.localName === "mrow" && row.children.length > 1) breakLines(row, room, size, zoom, spaces);
  }
  if (rows.length) {
    for (let i = 0; i < 4 && !fits(element); i += 1) if (!breakCells(element, zoom)) break;
    // What no break could narrow shrinks the type, by what a measurement says is missing
    // (never below the floor).
    if (!fits(element) && size > min) {
      const t = Math.max(min, Math.floor((size * element.clientWidth) / element.scrollWidth));
      element.style.fontSize = `${t}px`;
    }
  }
  if (!fits(element)) element.classList.add("scrolls");
}

// A formula box that still scrolls becomes a region the keyboard reaches (named `label`);
// one that fits is a plain box again.
export function scrollRegion(element, label) {
  // a box over by a pixel scrolls too (fits() forgives that much): the keyboard reaches it
  if (element.classList.contains("scrolls") || element.scrollWidth > element.clientWidth) {
    element.setAttribute("tabindex", "0");
    element.setAttribute("role", "region");
    element.setAttribute("aria-label", `${label} (scrolls sideways)`);
  } else {
    for (const name of ["tabindex", "role", "aria-label"]) element.removeAttribute(name);
  }
}
