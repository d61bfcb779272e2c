// The gradient check of the walk: for each parameter whose gradient the walk has reached,
// the analytic gradient (the backward pass) beside the numeric one (central differences),
// each in the parameter's own shape on one colour range, and their relative error. The
// server leaves out gradients the walk has not reached; before dW2 the button is disabled.

import { TensorView } from "../common/heatmap.js";

const $ = (id) => document.getElementById(id);

function shaped(value) {
  if (!Array.isArray(value)) return value;
  if (!Array.isArray(value[0])) return value.length === 1 ? value[0] : value;
  if (Array.isArray(value[0][0]) && value.length === 1) return value[0];
  return value;
}

// The first parameter gradient of the backward pass (the seed's: dW2).
function firstGradient(walk) {
  if (!walk) return "dW2";
  const grads = new Set(walk.network.params.map((name) => `d${name}`));
  const step = walk.steps.find((s) => grads.has(s.writes));
  return step ? step.writes : "dW2";
}

export function setupGradcheck({ store, api, stepping, toast }) {
  const button = $("btn-gradcheck");

  // the trainable parameters and their gradients, named by the server (GET /api/meta)
  const params = () => store.get().walk.network.params;
  const gradients = () => params().map((name) => `d${name}`);

  store.subscribe((s) => {
    const reached = s.walk && s.meta && gradients().some((g) => s.walk.known.includes(g));
    button.disabled = !reached;
    button.title = reached ? "Numeric beside analytic gradients, for the gradients reached so far"
      : `Available once the walk reaches the first gradient of a parameter (${firstGradient(s.walk)})`;
  });

  button.addEventListener("click", () => stepping.run(async () => {
    const result = await api.gradcheck(store.get().walk.id);
    const box = $("gradcheck-body");
    box.replaceChildren();
    const summary = document.createElement("p");
    summary.className = "summary";
    const names = Object.keys(result.params);
    if (!names.length) {
      summary.textContent = `No parameter's gradient is computed yet: step on to ${firstGradient(store.get().walk)}.`;
    } else {
      const ok = result.max_rel_error !== null && result.max_rel_error < 1e-6;
      summary.innerHTML = "Largest relative error: <strong></strong> — ";
      summary.querySelector("strong").textContent = result.max_rel_error === null ? "not finite" : result.max_rel_error.toExponential(2);
      summary.append(ok ? "the backward pass agrees with central finite differences."
        : "larger than 1e-6: an input sits on a kink (a Z1 at 0 or a tie in max-pool), where the derivative does not exist.");
    }
    box.append(summary);
    for (const name of params()) {
      const found = result.params[name];
      if (!found) continue;
      const row = document.createElement("section");
      row.className = "gradcheck-row";
      row.dataset.param = name;
      row.innerHTML = `<h3></h3><div class="pair"><figure><figcaption>analytic (backward pass)</figcaption><div class="body a"></div></figure>
        <figure><figcaption>numeric (central differences)</figcaption><div class="body n"></div></figure></div>`;
      row.querySelector("h3").textContent = `d${name}: relative error ${found.rel_error === null ? "not finite" : found.rel_error.toExponential(2)}`;
      const shared = found.range;
      new TensorView(row.querySelector(".a"), { name: `d${name}`, cell: 40 }).render(shaped(found.analytic), shared);
      new TensorView(row.querySelector(".n"), { name: `d${name} numeric`, cell: 40 }).render(shaped(found.numeric), shared);
      box.append(row);
    }
    const waiting = gradients().filter((g) => !result.params[g.slice(1)]);
    if (waiting.length && names.length) {
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = `Not computed yet at this step: ${waiting.join(", ")}.`;
      box.append(note);
    }
    $("gradcheck").hidden = false;
    $("gradcheck").querySelector(".close").focus();
  }).catch((error) => toast(error.message, true)));

  // Closed by Escape or its ✕, it gives the keyboard back to the button that opened it.
  $("gradcheck").addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.stopPropagation();
    $("gradcheck").hidden = true;
    button.focus();
  });
  $("gradcheck").querySelector(".close").addEventListener("click", () => button.focus());
}
