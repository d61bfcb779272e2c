// The training drawer: train on a built-in dataset in short chunks of epochs, so the loss
// and accuracy curves fill in while it runs, and watch the filter W1 change epoch by epoch.
// The chart is the page's only use of plotly.js, loaded the first time it is drawn.

import { TensorView } from "../common/heatmap.js";
import { short } from "../common/format.js";
import { networkSpec } from "./url.js";

const $ = (id) => document.getElementById(id);
const CHUNKS = 20; // requests per run: the curve grows this many times

let plotly = null;
function loadPlotly(url) {
  plotly = plotly || new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve(window.Plotly);
    script.onerror = () => reject(new Error("plotly.js could not be loaded"));
    document.head.append(script);
  });
  return plotly;
}

function symmetric(value) {
  const flat = JSON.stringify(value).match(/-?[\d.]+(e[+-]?\d+)?/g).map((v) => Math.abs(Number(v)));
  const top = Math.max(1e-12, ...flat);
  return { min: -top, max: top, scale: "diverging" };
}

export function setupTraining({ store, api, stepping, toast }) {
  let datasets = [];
  let loadedSize = 0;
  let controller = null;
  let run = null; // {history, kernels, params, dataset}
  const kernelView = new TensorView($("train-kernel"), { name: "W1", cell: 30 });
  const limits = store.get().meta.train_limits; // the server's (GET /api/meta)
  [$("train-epochs").min, $("train-epochs").max] = limits.epochs.map(String);
  [$("train-batch").min, $("train-batch").max] = limits.batch_size.map(String);

  async function loadDatasets() {
    const size = store.get().walk.network.input.size;
    if (size === loadedSize) return;
    datasets = await api.datasets(size);
    loadedSize = size;
    const select = $("train-dataset");
    const keep = select.value;
    select.replaceChildren(...datasets.map((d) => new Option(`${d.title} (${d.size})`, d.name)));
    if (datasets.some((d) => d.name === keep)) select.value = keep;
    showSamples();
  }

  function showSamples() {
    const d = datasets.find((x) => x.name === $("train-dataset").value);
    const box = $("train-samples");
    box.replaceChildren();
    if (!d) return;
    const caption = document.createElement("p");
    caption.className = "hint";
    caption.textContent = `${d.description} Y = 0: ${d.classes[0]}, Y = 1: ${d.classes[1]}.`;
    box.append(caption);
    for (const sample of d.samples) {
      const figure = document.createElement("figure");
      figure.className = "sample";
      const div = document.createElement("div");
      const label = document.createElement("figcaption");
      label.textContent = `Y = ${sample.y}: ${d.classes[sample.y]}`;
      figure.append(div, label);
      box.append(figure);
      new TensorView(div, { name: `Y=${sample.y}`, cell: 60 / sample.x.length })
        .render(sample.x, { min: 0, max: 1, scale: "sequential" });
    }
  }

  async function drawChart() {
    const Plotly = await loadPlotly(api.plotlyUrl);
    const epochs = run.history.map((h) => h.epoch);
    const data = [
      { x: epochs, y: run.history.map((h) => h.loss), name: "mean loss", mode: "lines+markers", line: { color: "#b2182b" } },
      { x: epochs, y: run.history.map((h) => h.accuracy), name: "accuracy", mode: "lines+markers", yaxis: "y2", line: { color: "#2166ac", dash: "dot" } },
    ];
    const layout = {
      height: 220, margin: { l: 48, r: 48, t: 10, b: 36 },
      xaxis: { title: { text: "epoch" } },
      yaxis: { title: { text: "loss" }, rangemode: "tozero" },
      yaxis2: {
        title: { text: "accuracy" }, overlaying: "y", side: "right", range: [0, 1.02],
        tickformat: ".0%", dtick: 0.25, showgrid: false,
      },
      legend: { orientation: "h", y: 1.15 },
      paper_bgcolor: "rgba(0,0,0,0)",
    };
    Plotly.react($("train-chart"), data, layout, { displayModeBar: false, responsive: true });
  }

  function showKernel(epoch) {
    const W1 = run.kernels[epoch];
    kernelView.render(W1.length === 1 ? W1[0] : W1, symmetric(run.kernels));
    $("train-epoch").value = String(epoch);
    $("train-kernel-caption").textContent = epoch ? `W1 after epoch ${epoch}` : "W1 before training";
    $("train-epoch").setAttribute("aria-valuetext", `W1 after epoch ${epoch}`);
  }

  // Why the settings cannot be trained, or "" (the server checks them again).
  function settingsProblem(epochs, batch, lr) {
    const meta = store.get().meta;
    const whole = (v, [lo, hi]) => Number.isInteger(v) && v >= lo && v <= hi;
    if (!whole(epochs, limits.epochs)) return `Epochs must be a whole number from ${limits.epochs[0]} to ${limits.epochs[1]}.`;
    if (!whole(batch, limits.batch_size)) return `Batch size must be a whole number from ${limits.batch_size[0]} to ${limits.batch_size[1]}.`;
    if (!(lr > 0 && lr <= meta.lr_max)) return `Training η must be above 0 and at most ${meta.lr_max}.`;
    return "";
  }

  async function train() {
    const { walk } = store.get();
    // a seed-shaped walk trains by its four sizes, any other by its network
    const shape = walk.config
      ? { config: Object.fromEntries(["input_size", "kernel_size", "filters", "pool_size"].map((k) => [k, walk.config[k]])) }
      : { network: networkSpec(walk.network) };
    const blank = (id) => $(id).value.trim() === "";
    const epochs = blank("train-epochs") ? NaN : Number($("train-epochs").value);
    const batch = blank("train-batch") ? NaN : Number($("train-batch").value);
    const lr = blank("train-lr") ? NaN : Number($("train-lr").value);
    const dataset = $("train-dataset").value;
    const problem = settingsProblem(epochs, batch, lr);
    $("train-error").textContent = problem;
    if (problem) return;
    controller = new AbortController();
    $("btn-train").disabled = true;
    $("btn-train-stop").disabled = false;
    $("btn-train-use").disabled = true;
    let params = walk.params;
    run = { history: [], kernels: [params.W1], params, dataset, shape, seed: walk.seed };
    const chunk = Math.max(1, Math.ceil(epochs / CHUNKS));
    try {
      for (let done = 0; done < epochs; done += chunk) {
        const count = Math.min(chunk, epochs - done);
        const result = await api.train({
          ...shape, params, dataset, epochs: count, batch_size: batch, lr,
          seed: walk.seed + done,
        }, controller.signal);
        params = result.params;
        run.params = params;
        if (!run.kernels.length) run.kernels.push(result.W1_history[0]);
        result.history.forEach((h, i) => {
          run.history.push({ ...h, epoch: done + i + 1 });
          run.kernels.push(result.W1_history[i + 1]);
        });
        run.accuracy = result.accuracy;
        run.examples = result.examples;
        await drawChart();
        $("train-epoch").max = String(run.kernels.length - 1);
        showKernel(run.kernels.length - 1);
        const last = run.history[run.history.length - 1];
        $("train-status").textContent = `Epoch ${last.epoch} of ${epochs}: mean loss ${short(last.loss)}, ` +
          `accuracy ${(100 * last.accuracy).toFixed(1)}% during the epoch, ${(100 * result.accuracy).toFixed(1)}% on the ` +
          `training examples now, ${(100 * result.test_accuracy).toFixed(1)}% on the ${result.test_size} held-out test examples.`;
        $("train-test").textContent = `Test accuracy: ${(100 * result.test_accuracy).toFixed(1)}% ` +
          `(${result.test_size} examples the network never trained on).`;
      }
      toast("Training finished.");
    } catch (error) {
      if (error.name !== "AbortError") {
        $("train-error").textContent = error.message;
        toast(error.message, true);
      }
    } finally {
      $("btn-train").disabled = false;
      $("btn-train-stop").disabled = true;
      $("btn-train-use").disabled = !run.params;
      showExamples();
      controller = null;
    }
  }

  // The held-out examples to step through, the misclassified first (and chosen).
  function showExamples() {
    const select = $("train-example");
    select.replaceChildren();
    const examples = (run && run.examples) || [];
    examples.forEach((e, i) => {
      const verdict = e.right ? "right" : "misclassified";
      select.append(new Option(`Test example ${i + 1}: Y = ${e.y}, A2 = ${short(e.a2)}, ${verdict}`, String(i)));
    });
    select.disabled = examples.length === 0;
    select.closest("label").hidden = examples.length === 0; // nothing to pick before a run
  }

  async function useTrained() {
    if (!run || !run.params) return;
    const examples = run.examples || [];
    const sample = examples[Number($("train-example").value) || 0] || null;
    $("drawer-train").hidden = true;
    document.body.classList.remove("drawer-open");
    for (const b of document.querySelectorAll("[data-drawer]")) b.setAttribute("aria-expanded", "false");
    await stepping.patch({ ...run.shape, params: run.params, ...(sample ? { x: sample.x, y: sample.y } : {}) });
    store.set({ start: { ...store.get().start, params: store.get().walk.params, presetName: sample ? null : store.get().start.presetName } });
    toast("The trained network on a dataset example: press Next to step through it.");
  }

  $("btn-train").addEventListener("click", train);
  $("btn-train-stop").addEventListener("click", () => controller && controller.abort());
  $("btn-train-use").addEventListener("click", useTrained);
  $("train-dataset").addEventListener("change", showSamples);
  $("train-epoch").addEventListener("input", () => run && showKernel(Number($("train-epoch").value)));
  document.querySelector('[data-drawer="train"]').addEventListener("click", () => {
    loadDatasets().catch((error) => { $("train-error").textContent = error.message; });
  });
  store.subscribe((s, prev) => {
    if (prev.walk && s.walk.network.input.size !== prev.walk.network.input.size) loadedSize = 0;
  });
}
