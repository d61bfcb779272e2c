// The gradient check: numeric (central differences) beside analytic gradients.

import { short } from "../common/format.js";

const $ = (id) => document.getElementById(id);

export function setupGradcheck({ store, api, requestBody, toast }) {
  $("btn-gradcheck").addEventListener("click", async () => {
    const state = store.get();
    if (!state.trace) return;
    const body = requestBody(state);
    body.params = state.trace.params;
    let result;
    try {
      result = await api.gradcheck(body);
    } catch (error) {
      toast(error.message, true);
      return;
    }
    const box = $("gradcheck-body");
    box.replaceChildren();
    const summary = document.createElement("p");
    summary.className = "summary";
    const ok = result.max_rel_error < 1e-6;
    summary.innerHTML = `Largest relative error: <strong></strong> — `;
    summary.querySelector("strong").textContent = result.max_rel_error.toExponential(2);
    summary.append(ok ? "the backward pass agrees with central finite differences."
      : "larger than 1e-6: an input sits on a kink (a Z1 at 0 or a tie in max-pool), where the derivative does not exist.");
    box.append(summary);
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>parameter</th><th>analytic (backward pass)</th><th>numeric (finite differences)</th><th>relative error</th></tr></thead>";
    const tbody = document.createElement("tbody");
    for (const name of ["W1", "b1", "W2", "b2"]) {
      const tr = document.createElement("tr");
      const flat = (v) => (Array.isArray(v) ? v.flat(Infinity) : [v]);
      const list = (v) => flat(v).slice(0, 12).map(short).join(", ") + (flat(v).length > 12 ? ", …" : "");
      for (const text of [name, list(result.analytic[name]), list(result.numeric[name]), result.rel_error[name].toExponential(2)]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      tbody.append(tr);
    }
    table.append(tbody);
    box.append(table);
    $("gradcheck").hidden = false;
    $("gradcheck").querySelector(".close").focus();
  });
  $("gradcheck").addEventListener("keydown", (event) => {
    if (event.key === "Escape") $("gradcheck").hidden = true;
  });
}
