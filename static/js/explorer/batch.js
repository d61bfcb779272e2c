// A mini-batch walk on the page: the example selector (whose tensors the panels show; the
// server computes every example at every step) and, at a step that averages, each
// example's gradient beside their mean, as the server sent them (`average`).

import { TensorView } from "../common/heatmap.js";

const $ = (id) => document.getElementById(id);

const SUPERSCRIPT = { 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
const superscript = (n) => [...String(n)].map((digit) => SUPERSCRIPT[digit]).join("");

// "∂L⁽²⁾/∂W1": example 2's gradient of a parameter, from its gradient's name ("dW1").
export function perExampleTitle(gradient, example) {
  return `∂L⁽${superscript(example + 1)}⁾/∂${gradient.replace(/^d/, "")}`;
}

// A one-element vector (a bias of one unit) is drawn as a card, as the update view does.
const flat = (value) => (Array.isArray(value) && !Array.isArray(value[0]) && value.length === 1 ? value[0] : value);

export function createBatchView({ store, stepping }) {
  const bar = $("batch-bar");
  const select = $("example-select");
  let shownAverage = null;

  const go = (example) => {
    const walk = store.get().walk;
    if (!walk.batch || example < 0 || example >= walk.batch || example === (walk.example || 0)) return;
    stepping.showExample(example);
  };
  select.addEventListener("change", () => go(Number(select.value)));
  $("btn-example-prev").addEventListener("click", () => go((store.get().walk.example || 0) - 1));
  $("btn-example-next").addEventListener("click", () => go((store.get().walk.example || 0) + 1));
  $("btn-average-tables").addEventListener("click", () => {
    const button = $("btn-average-tables");
    const on = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(on));
    button.textContent = on ? "Hide the tables" : "Show as tables";
    $("average-view").classList.toggle("show-tables", on);
  });

  function renderSelector(walk) {
    const batch = walk.batch || 1;
    bar.hidden = batch < 2;
    if (batch < 2) return;
    const example = walk.example || 0;
    if (select.options.length !== batch) {
      select.replaceChildren(...Array.from({ length: batch }, (_, i) => new Option(`Example ${i + 1} of ${batch}`, String(i))));
    }
    select.value = String(example);
    $("btn-example-prev").disabled = example === 0;
    $("btn-example-next").disabled = example === batch - 1;
    $("batch-note").textContent = `Y = ${walk.tensors.Y} · the panels show this example; every step computes ${batch === 2 ? "both" : `all ${batch}`}, ` +
      "and after the backward pass their gradients are averaged.";
  }

  // The averaging step: N heatmaps (each with its table) and the mean, on the server's range.
  function renderAverage(walk) {
    const box = $("average-view");
    const average = walk.average || null;
    if (average === shownAverage) {
      if (average) mark(walk.example || 0);
      return;
    }
    shownAverage = average;
    const plots = $("average-plots");
    plots.replaceChildren();
    box.hidden = !average;
    if (!average) return;
    const cell = average.per_example.length > 4 ? 18 : 24;
    const part = (title, value, note, cls) => {
      const figure = document.createElement("figure");
      figure.className = `average-part ${cls}`;
      const caption = document.createElement("figcaption");
      caption.textContent = title;
      const body = document.createElement("div");
      body.className = "body";
      const small = document.createElement("div");
      small.className = "note";
      small.textContent = note;
      figure.append(caption, body, small);
      plots.append(figure);
      new TensorView(body, { name: title, cell }).render(flat(value), average.range);
      return figure;
    };
    average.per_example.forEach((value, n) => {
      part(perExampleTitle(average.name, n), value, `example ${n + 1}`, "example").dataset.example = String(n);
    });
    plots.append(Object.assign(document.createElement("span"), { className: "op", textContent: "→" }));
    part("mean", average.mean, `the ${average.per_example.length} averaged: mean_${average.name}`, "mean");
    $("average-title").textContent = `${average.name} of each example, and their mean`;
    mark(walk.example || 0);
  }

  // The example the panels show is outlined among the per-example gradients.
  function mark(example) {
    for (const figure of document.querySelectorAll("#average-plots .average-part.example")) {
      const on = Number(figure.dataset.example) === example;
      figure.classList.toggle("shown", on);
      figure.querySelector(".note").textContent = `example ${Number(figure.dataset.example) + 1}${on ? " (shown)" : ""}`;
    }
  }

  return {
    render(walk) {
      renderSelector(walk);
      renderAverage(walk);
    },
  };
}
