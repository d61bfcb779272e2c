// Draws one beat of the lesson: the slide's tensors (one TensorView each), its formula and
// the formula with the numbers, the narration and the "predict, then reveal" prompt; a
// contrast slide's two sides (two networks at one step, the cells where they differ
// outlined) and the engine's sentence on what changed. The presenter's page and the
// audience's draw with this same module, so they cannot differ.

import { TensorView } from "../common/heatmap.js";
import { short } from "../common/format.js";
import { fits, scrollRegion, wrapFormula } from "../common/formula-lines.js";

const BASE_CELL = 34; // the heatmaps print values at their largest from this cell size up;
// the stage then zooms the whole row of tensors to fill the space it has
const MAX_STAGE_ZOOM = 2.4; // at 16 px to the rem (1280×720)
const LAYOUTS = ["stack", "side"]; // the first wins unless another draws the tensors 8% larger
const DENSITIES = ["", "1", "2"]; // the words' type: as designed, smaller, smaller still
const MIN_TEXT_PX = 12; // no value or label of a tensor is drawn smaller than this
const PHASES = { intro: "Overview", forward: "Forward pass", backward: "Backward pass", update: "Update", after: "After the update" };

const $ = (id) => document.getElementById(id);

// A tensor not computed yet: a striped box of its size with a "?", and nothing else.
function placeholder(panel) {
  const box = document.createElement("div");
  box.className = "dveil";
  // a grid per leading index (a filter; a filter and channel for (K, C, k, k) weights), side by side
  const planes = panel.shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const [rows, cols] = panel.shape.length === 0 ? [1, 2.5]
    : panel.shape.length === 1 ? (panel.vertical ? [panel.shape[0], 1] : [1, panel.shape[0]])
      : [panel.shape.at(-2), panel.shape.at(-1) * planes];
  box.style.width = `${Math.max(60, cols * BASE_CELL)}px`;
  box.style.height = `${Math.max(44, rows * BASE_CELL)}px`;
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", `${panel.label}: not computed yet`);
  box.textContent = "?";
  return box;
}

// The phone layout (or any portrait screen): the style sheet says so with --stage-flow, the
// one place its breakpoint is written. The page scrolls there instead of fitting the screen.
export function scrolling() {
  return getComputedStyle(document.documentElement).getPropertyValue("--stage-flow").trim() === "1";
}

export class SlideView {
  constructor() {
    this.current = null; // the view on screen
    this.views = [];
    this.zoom = 1;
    this.inner = null;
    this.fitted = ""; // the size of the slide's box at the last fit
    window.addEventListener("resize", () => this.fit());
    // a font that arrives after the slide was fitted changes every width measured
    if (document.fonts) document.fonts.addEventListener("loadingdone", () => this.fit());
    // The box also narrows without the window changing: the presenter's live view of the
    // answers, the audience's answer sheet beside the slide. The slide is fitted again to
    // what is left (on a phone only a new width counts: the page grows with the slide).
    new ResizeObserver(() => {
      if (this.current && this.measure() !== this.fitted) this.fit();
    }).observe($("main"));
  }

  measure() {
    const main = $("main");
    return scrolling() ? `${main.clientWidth}` : `${main.clientWidth}x${main.clientHeight}`;
  }

  get beat() {
    return this.current ? this.current.beat : -1;
  }

  get beats() {
    return this.current ? this.current.beats : 0;
  }

  setZoom(zoom) {
    this.zoom = zoom;
    document.documentElement.style.setProperty("--zoom", String(zoom));
    this.fit();
  }

  // Draw one beat as the server sent it: what it holds is all that has been shown. A
  // tensor not computed yet comes as its name and shape only, and is drawn as "?".
  show(view) {
    if (!view) return;
    this.current = view;
    this.build(view);
    this.words(view);
    const main = $("main");
    main.dataset.step = view.name;
    main.dataset.beat = String(view.beat);
    main.dataset.slide = String(view.slide);
    main.dataset.reveal = String(view.revealed);
    main.dataset.phase = view.phase;
    const stage = view.predict ? (view.revealed ? " · answer" : " · predict") : "";
    $("progress").textContent = `Step ${view.slide + 1} of ${view.slides}${stage}`;
    $("progress-fill").style.width = `${(100 * (view.beat + 1)) / view.beats}%`;
    this.fit();
  }

  // ----------------------------------------------------------------------- building
  build(view) {
    $("slide-phase").textContent = PHASES[view.phase] || view.phase;
    $("slide-title").textContent = view.title;
    $("narration").textContent = view.narration;
    $("formulas").innerHTML = view.formulas.join("");
    $("numbers").innerHTML = view.numbers || "";
    $("numbers").hidden = !view.numbers;
    this.source = new Map([[$("formulas"), $("formulas").innerHTML], [$("numbers"), $("numbers").innerHTML]]);
    const stage = $("stage");
    stage.replaceChildren();
    // The row of tensors is scaled with a transform (Plotly's hover understands those),
    // inside a box given the scaled size, since a transform does not change the layout.
    this.box = document.createElement("div");
    this.box.className = "stage-box";
    this.inner = document.createElement("div");
    this.inner.className = "stage-inner";
    this.box.append(this.inner);
    stage.append(this.box);
    this.views = [];
    if (view.sides) for (const side of view.sides) this.inner.append(this.side(side));
    else this.row(this.inner, view.panels);
    stage.classList.toggle("empty", view.panels.length === 0 && !(view.sides || []).length);
    const explain = $("contrast-explain");
    explain.textContent = view.explain || "";
    explain.hidden = !view.explain;
  }

  // A contrast slide's side: its title ("Left" until the labels are revealed), its network,
  // a note when it waits (it has no such step), and its tensors.
  side(side) {
    const group = document.createElement("section");
    group.className = "dside";
    group.dataset.side = side.side;
    const title = document.createElement("h2");
    title.className = "dside-title";
    title.id = `dside-${side.side}`;
    title.textContent = side.title;
    group.setAttribute("aria-labelledby", title.id);
    group.append(title);
    for (const [text, name] of [[side.network, "dside-network"], [side.note, "dside-note"]]) {
      if (!text) continue;
      const line = Object.assign(document.createElement("p"), { className: name, textContent: text });
      group.append(line);
    }
    const row = document.createElement("div");
    row.className = "dside-row";
    group.append(row);
    this.row(row, side.panels);
    return group;
  }

  // A row of tensors: what the step reads, an arrow, what it writes.
  row(into, panels) {
    let arrowDone = false;
    for (const panel of panels) {
      if (panel.role === "writes" && !arrowDone && into.children.length) {
        const arrow = document.createElement("div");
        arrow.className = "stage-arrow";
        arrow.setAttribute("aria-hidden", "true");
        arrow.textContent = "→";
        into.append(arrow);
        arrowDone = true;
      }
      const figure = document.createElement("figure");
      figure.className = `dpanel ${panel.role}`;
      figure.dataset.tensor = panel.key;
      const caption = document.createElement("figcaption");
      caption.textContent = panel.label;
      const body = document.createElement("div");
      body.className = "dbody";
      figure.append(caption);
      if (panel.differ !== undefined) { // in words too: an outline is not the only sign
        const differ = Object.assign(document.createElement("span"), { className: "ddiffer", textContent: panel.differ });
        figure.classList.toggle("differs", /differ$/.test(panel.differ));
        figure.append(differ);
      }
      figure.append(body);
      into.append(figure);
      if (panel.hidden) {
        figure.classList.add("pending");
        body.append(placeholder(panel));
        continue;
      }
      const name = panel.key === panel.name ? panel.name : panel.label; // what hover calls a cell
      const tensor = new TensorView(body, { name, cell: BASE_CELL, vertical: panel.vertical });
      tensor.render(panel.value, panel.range);
      if (panel.marks.length) tensor.highlight(panel.marks);
      this.views.push(tensor);
    }
  }

  words(view) {
    const prompt = $("prompt");
    prompt.hidden = !view.predict;
    prompt.classList.toggle("answered", Boolean(view.reveal));
    $("prompt-label").textContent = view.reveal ? "Answer" : "Predict";
    $("prompt-question").textContent = view.predict;
    $("prompt-answer").textContent = view.reveal;
    $("prompt-answer").hidden = !view.reveal;
    const summary = $("summary");
    if (view.summary) {
      const s = view.summary;
      const change = s.loss_after < s.loss_before ? "down" : "up";
      const percent = Math.abs((100 * (s.loss_after - s.loss_before)) / s.loss_before).toFixed(0);
      const line = (text) => Object.assign(document.createElement("span"), { textContent: text });
      summary.replaceChildren(
        line(`Loss ${short(s.loss_before)} → ${short(s.loss_after)} (${change} ${percent}%)`),
        line(`${s.prediction || "A2"} ${short(s.a2_before)} → ${short(s.a2_after)}`));
      summary.hidden = false;
    } else {
      summary.replaceChildren();
      summary.hidden = true;
    }
  }

  // ------------------------------------------------------------------------ fitting
  // Lay the slide out with the words under the tensors ("stack") or beside them ("side"),
  // whichever lets the tensors be drawn larger without the words overflowing; zoom the
  // row of tensors to fill its space; shrink a formula that is too wide for its line. On a
  // phone (or any portrait screen: the style sheet says so with --stage-flow) the page
  // scrolls instead, and the tensors wrap to the screen's width ("flow").
  fit() {
    const main = $("main");
    this.fitted = this.measure();
    delete main.dataset.dense;
    this.fitFormulas();
    if (!this.inner || !this.inner.children.length) {
      main.dataset.layout = "stack";
      return;
    }
    if (scrolling()) {
      this.flow();
      this.fitFormulas();
      // a tensor too wide even at 12 px scrolls sideways: the keyboard reaches it too
      const stage = $("stage");
      if (stage.scrollWidth > stage.clientWidth + 1) stage.setAttribute("tabindex", "0");
      else stage.removeAttribute("tabindex");
      return;
    }
    $("stage").removeAttribute("tabindex");
    this.inner.style.width = "";
    this.scale(1, null);
    const natural = this.inner.getBoundingClientRect();
    if (!natural.width || !natural.height) return;
    this.box.style.width = "0px"; // measure the stage without the row in it
    this.box.style.height = "0px";
    // The tensors may grow as far as the type does (the screen's size, and + and −). Where
    // the words leave them too little room to draw a value at 12 px (a live view of the
    // answers beside the slide, a long answer), the words are set denser, step by step.
    const most = this.most();
    const least = Math.min(1, MIN_TEXT_PX / this.smallestText());
    let best = null;
    for (const dense of DENSITIES) {
      this.densify(dense);
      best = this.choose(natural, most);
      if (best.zoom >= least) break;
    }
    main.dataset.layout = best.layout;
    this.scale(best.zoom, natural);
    this.fitFormulas();
  }

  densify(dense) {
    const main = $("main");
    if ((main.dataset.dense || "") === dense) return;
    if (dense) main.dataset.dense = dense;
    else delete main.dataset.dense;
    this.fitFormulas(); // their type changed with the words'
  }

  // The layout that draws the tensors largest without the words overflowing, and its zoom:
  // "stack" unless another draws them 8% larger.
  choose(natural, most) {
    const main = $("main");
    const stage = $("stage");
    const words = document.querySelector("main.slide .words");
    const zoomIn = () => Math.min(most, (stage.clientWidth - 8) / natural.width, (stage.clientHeight - 8) / natural.height);
    let best = null;
    for (const layout of LAYOUTS) {
      main.dataset.layout = layout;
      const crowded = words.scrollHeight > words.clientHeight + 2;
      const zoom = zoomIn();
      if (!crowded && (best === null || zoom > best.zoom * 1.08)) best = { layout, zoom };
    }
    if (best === null) {
      main.dataset.layout = "stack";
      best = { layout: "stack", zoom: zoomIn() };
    }
    best.zoom = Math.max(0.1, best.zoom); // too small to read, never cut
    return best;
  }

  most() {
    return MAX_STAGE_ZOOM * (parseFloat(getComputedStyle(document.documentElement).fontSize) / 16);
  }

  // The phone layout: the stage is as tall as its tensors. They stay on one row if it fits
  // the width at full size; if not, they wrap, zoomed so the widest fits, but never so far
  // that a value is drawn under 12 px (a tensor wider than that scrolls sideways).
  flow() {
    $("main").dataset.layout = "flow";
    this.inner.style.width = "";
    this.scale(1, null);
    const natural = this.inner.getBoundingClientRect();
    if (!natural.width || !natural.height) return;
    this.box.style.width = "0px";
    this.box.style.height = "0px";
    const width = $("stage").clientWidth - 8;
    const row = Math.min(this.most(), width / natural.width);
    if (row >= 1) {
      this.scale(row, natural);
      return;
    }
    const pad = natural.width - this.inner.clientWidth + 4; // the row's own padding
    // a contrast slide's sides fill the width, and each side's title and tensors wrap within
    // it: the widest single tensor (with its side's frame) decides the zoom
    const framed = this.inner.querySelector(".dside");
    const items = framed ? [...this.inner.querySelectorAll(".dside-row > .dpanel")] : [...this.inner.children];
    const frame = framed ? framed.offsetWidth - framed.clientWidth + 2 * parseFloat(getComputedStyle(framed).paddingLeft) : 0;
    const widest = Math.max(...items.map((c) => c.getBoundingClientRect().width)) + pad + frame;
    const zoom = Math.max(MIN_TEXT_PX / this.smallestText(), Math.min(1, width / widest));
    this.inner.style.width = `${Math.max(widest, width / zoom)}px`;
    this.scale(zoom, this.inner.getBoundingClientRect());
  }

  // The smallest type in the row of tensors, unscaled.
  smallestText() {
    let smallest = Infinity;
    for (const el of this.inner.querySelectorAll("*")) {
      if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
      smallest = Math.min(smallest, parseFloat(getComputedStyle(el).fontSize));
    }
    return Number.isFinite(smallest) ? smallest : MIN_TEXT_PX;
  }

  scale(factor, natural) {
    this.inner.style.transform = factor === 1 ? "" : `scale(${factor})`;
    this.box.style.width = natural ? `${natural.width * factor}px` : "";
    this.box.style.height = natural ? `${natural.height * factor}px` : "";
  }

  // A formula too wide for its box breaks at its operators (the common module the explorer
  // uses too), and only then shrinks; one still too wide scrolls, and its box is then a
  // region the keyboard reaches. Measured afresh at every fit: the width may have changed.
  fitFormulas() {
    for (const [box, label] of [[$("formulas"), "Formula"], [$("numbers"), "Formula with the numbers"]]) {
      const source = this.source && this.source.get(box);
      if (source !== undefined && box.innerHTML !== source) box.innerHTML = source;
      box.style.fontSize = "";
      box.classList.remove("scrolls");
      if (!box.hidden && box.innerHTML) {
        wrapFormula(box, parseFloat(getComputedStyle(box).fontSize), { spaces: true });
        // a script of a script (a subscript in a fraction in a case) is drawn at 12 px at least
        for (const el of box.querySelectorAll("mi, mn, mo, mtext")) {
          if (parseFloat(getComputedStyle(el).fontSize) < MIN_TEXT_PX) el.style.fontSize = `${MIN_TEXT_PX}px`;
        }
        if (!fits(box)) box.classList.add("scrolls");
      }
      scrollRegion(box, label);
    }
  }
}
