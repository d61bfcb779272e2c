// Draws one beat of the lesson: the slide's tensors (one TensorView each), its formula and
// the formula with the numbers, the narration and the "predict, then reveal" prompt. The
// presenter's page and the audience's draw with this same module, so they cannot differ.

import { TensorView } from "../common/heatmap.js";
import { short } from "../common/format.js";

const BASE_CELL = 34; // the heatmaps print values at their largest from this cell size up;
// the stage then zooms the whole row of tensors to fill the space it has
const MAX_STAGE_ZOOM = 2.4; // at 16 px to the rem (1280×720)
const MIN_FORMULA_PX = 17; // subscripts are drawn at ~0.71 of it: 12 px at the least
const LAYOUTS = ["stack", "side"]; // the first wins unless another draws the tensors 8% larger
const PHASES = { intro: "Overview", forward: "Forward pass", backward: "Backward pass", update: "Update", after: "After the update" };

const $ = (id) => document.getElementById(id);

// A tensor not computed yet: a striped box of its size with a "?", and nothing else.
function placeholder(panel) {
  const box = document.createElement("div");
  box.className = "dveil";
  const [rows, cols] = panel.shape.length === 0 ? [1, 2.5]
    : panel.shape.length === 1 ? (panel.vertical ? [panel.shape[0], 1] : [1, panel.shape[0]])
      : [panel.shape.at(-2), panel.shape.at(-1) * (panel.shape.length > 2 ? panel.shape[0] : 1)];
  box.style.width = `${Math.max(60, cols * BASE_CELL)}px`;
  box.style.height = `${Math.max(44, rows * BASE_CELL)}px`;
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", `${panel.label}: not computed yet`);
  box.textContent = "?";
  return box;
}

export class SlideView {
  constructor() {
    this.current = null; // the view on screen
    this.views = [];
    this.zoom = 1;
    this.inner = null;
    window.addEventListener("resize", () => this.fit());
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
    let arrowDone = false;
    for (const panel of view.panels) {
      if (panel.role === "writes" && !arrowDone && this.inner.children.length) {
        const arrow = document.createElement("div");
        arrow.className = "stage-arrow";
        arrow.setAttribute("aria-hidden", "true");
        arrow.textContent = "→";
        this.inner.append(arrow);
        arrowDone = true;
      }
      const figure = document.createElement("figure");
      figure.className = `dpanel ${panel.role}`;
      figure.dataset.tensor = panel.key;
      const caption = document.createElement("figcaption");
      caption.textContent = panel.label;
      const body = document.createElement("div");
      body.className = "dbody";
      figure.append(caption, body);
      this.inner.append(figure);
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
    stage.classList.toggle("empty", view.panels.length === 0);
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
        line(`A2 ${short(s.a2_before)} → ${short(s.a2_after)}`));
      summary.hidden = false;
    } else {
      summary.replaceChildren();
      summary.hidden = true;
    }
  }

  // ------------------------------------------------------------------------ fitting
  // Lay the slide out with the words under the tensors ("stack") or beside them ("side"),
  // whichever lets the tensors be drawn larger without the words overflowing; zoom the
  // row of tensors to fill its space; shrink a formula that is too wide for its line.
  fit() {
    const main = $("main");
    this.fitFormulas();
    if (!this.inner || !this.inner.children.length) {
      main.dataset.layout = "stack";
      return;
    }
    const stage = $("stage");
    const words = document.querySelector("main.slide .words");
    this.scale(1, null);
    const natural = this.inner.getBoundingClientRect();
    if (!natural.width || !natural.height) return;
    this.box.style.width = "0px"; // measure the stage without the row in it
    this.box.style.height = "0px";
    // The tensors may grow as far as the type does (the screen's size, and + and −).
    const most = MAX_STAGE_ZOOM * (parseFloat(getComputedStyle(document.documentElement).fontSize) / 16);
    let best = null;
    for (const layout of LAYOUTS) {
      main.dataset.layout = layout;
      const width = stage.clientWidth - 8;
      const height = stage.clientHeight - 8;
      const crowded = words.scrollHeight > words.clientHeight + 2;
      const zoom = Math.min(most, width / natural.width, height / natural.height);
      if (!crowded && (best === null || zoom > best.zoom * 1.08)) best = { layout, zoom };
    }
    if (best === null) best = { layout: "stack", zoom: 0 };
    main.dataset.layout = best.layout;
    if (best.zoom <= 0) {
      best.zoom = Math.min((stage.clientWidth - 8) / natural.width, (stage.clientHeight - 8) / natural.height);
    }
    this.scale(Math.max(0.3, best.zoom), natural);
    this.fitFormulas();
  }

  scale(factor, natural) {
    this.inner.style.transform = factor === 1 ? "" : `scale(${factor})`;
    this.box.style.width = natural ? `${natural.width * factor}px` : "";
    this.box.style.height = natural ? `${natural.height * factor}px` : "";
  }

  fitFormulas() {
    for (const box of [$("formulas"), $("numbers")]) {
      if (box.hidden) continue;
      box.style.fontSize = "";
      let size = parseFloat(getComputedStyle(box).fontSize);
      while (size > MIN_FORMULA_PX && box.scrollWidth > box.clientWidth + 1) {
        size -= 1;
        box.style.fontSize = `${size}px`;
      }
    }
  }
}
