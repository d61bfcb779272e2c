// Draws one beat of the lesson: the slide's tensors (one TensorView each), its formula and
// the formula with the numbers, the narration and the "predict, then reveal" prompt. The
// presenter's page and the audience's draw with this same module, so they cannot differ.

import { TensorView } from "../common/heatmap.js";
import { short } from "../common/format.js";

const BASE_CELL = 34; // the heatmaps print values at their largest from this cell size up;
// the stage then zooms the whole row of tensors to fill the space it has
const MAX_STAGE_ZOOM = 2.4; // at 16 px to the rem (1280×720)
const MIN_FORMULA_PX = 12;
const LAYOUTS = ["stack", "side"]; // the first wins unless another draws the tensors 8% larger
const PHASES = { intro: "Overview", forward: "Forward pass", backward: "Backward pass", update: "Update", after: "After the update" };

const $ = (id) => document.getElementById(id);

export class SlideView {
  constructor() {
    this.lesson = null;
    this.slideIndex = -1;
    this.beat = -1;
    this.revealed = true;
    this.views = [];
    this.zoom = 1;
    this.inner = null;
    window.addEventListener("resize", () => this.fit());
  }

  setLesson(lesson) {
    this.lesson = lesson;
    this.slideIndex = -1;
  }

  get beats() {
    return this.lesson ? this.lesson.beats.length : 0;
  }

  setZoom(zoom) {
    this.zoom = zoom;
    document.documentElement.style.setProperty("--zoom", String(zoom));
    this.fit();
  }

  slideAt(beat) {
    const [index, revealed] = this.lesson.beats[beat];
    return { index, revealed, slide: this.lesson.slides[index] };
  }

  show(beat) {
    if (!this.lesson || beat < 0 || beat >= this.beats) return;
    const { index, revealed, slide } = this.slideAt(beat);
    const rebuilt = index !== this.slideIndex;
    if (rebuilt) this.build(slide);
    this.slideIndex = index;
    this.beat = beat;
    this.revealed = revealed;
    this.reveal(slide, revealed);
    const main = $("main");
    main.dataset.step = slide.name;
    main.dataset.beat = String(beat);
    main.dataset.slide = String(index);
    main.dataset.reveal = String(revealed);
    main.dataset.phase = slide.phase;
    const total = this.lesson.slides.length;
    const stage = slide.predict ? (revealed ? " · answer" : " · predict") : "";
    $("progress").textContent = `Step ${index + 1} of ${total}${stage}`;
    $("progress-fill").style.width = `${(100 * (beat + 1)) / this.beats}%`;
    this.fit();
  }

  // ----------------------------------------------------------------------- building
  build(slide) {
    $("slide-phase").textContent = PHASES[slide.phase] || slide.phase;
    $("slide-title").textContent = slide.title;
    $("narration").textContent = slide.narration;
    $("formulas").innerHTML = slide.formulas.join("");
    $("numbers").innerHTML = slide.numbers || "";
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
    for (const panel of slide.panels) {
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
      const veil = document.createElement("div");
      veil.className = "dveil";
      veil.setAttribute("aria-hidden", "true");
      veil.textContent = "?";
      figure.append(caption, body, veil);
      this.inner.append(figure);
      const name = panel.key === panel.name ? panel.name : panel.label; // what hover calls a cell
      const view = new TensorView(body, { name, cell: BASE_CELL, vertical: panel.vertical });
      view.render(panel.value, panel.range);
      this.views.push({ view, panel, figure, marked: false });
    }
    stage.classList.toggle("empty", slide.panels.length === 0);
  }

  reveal(slide, revealed) {
    const asking = Boolean(slide.predict) && !revealed;
    for (const item of this.views) {
      item.figure.classList.toggle("pending", asking && item.panel.role === "writes");
      const mark = !asking && item.panel.marks.length > 0;
      if (mark !== item.marked) {
        item.view.highlight(mark ? item.panel.marks : []);
        item.marked = mark;
      }
    }
    $("numbers").hidden = asking || !slide.numbers;
    const prompt = $("prompt");
    prompt.hidden = !slide.predict;
    prompt.classList.toggle("answered", !asking);
    $("prompt-label").textContent = asking ? "Predict" : "Answer";
    $("prompt-question").textContent = slide.predict;
    $("prompt-answer").textContent = slide.reveal;
    $("prompt-answer").hidden = asking;
    const summary = $("summary");
    if (slide.summary && !asking) {
      const s = slide.summary;
      const change = s.loss_after < s.loss_before ? "down" : "up";
      const percent = Math.abs((100 * (s.loss_after - s.loss_before)) / s.loss_before).toFixed(0);
      const line = (text) => Object.assign(document.createElement("span"), { textContent: text });
      summary.replaceChildren(
        line(`Loss ${short(s.loss_before)} → ${short(s.loss_after)} (${change} ${percent}%)`),
        line(`A2 ${short(s.a2_before)} → ${short(s.a2_after)}`));
      summary.hidden = false;
    } else {
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
