// Linked highlighting: for a hovered cell, the cells that produced it and a sentence with
// the sum behind it. Mirrors engine/provenance.py; the server supplies max-pool winners.

import { short, indexText } from "../common/format.js";

const factor = (v) => (v < 0 ? `(${short(v)})` : short(v));
const times = (a, b) => `${factor(a)}×${factor(b)}`;

const at = (t, index) => index.reduce((v, i) => v[i], t);

function sumText(terms, extra) {
  const shown = terms.filter((s) => s.value !== 0);
  const parts = shown.slice(0, 6).map((s, i) => (i && s.text.startsWith("-") ? `(${s.text})` : s.text));
  const more = shown.length > 6 ? ` + … (${shown.length - 6} more)` : "";
  const zeros = terms.length - shown.length;
  return (parts.join(" + ") || "0") + more + (extra || "") +
    (zeros ? ` (${zeros} zero term${zeros > 1 ? "s" : ""} left out)` : "");
}

// Returns {marks: {tensorName: [{index, kind}]}, text}
export function linksFor(name, index, tr, cfg, winners) {
  const T = tr.tensors;
  const k = cfg.kernel_size;
  const p = cfg.pool_size;
  const m = cfg.input_size - k + 1;
  const q = Math.floor(m / p);
  const marks = {};
  const add = (tensor, idx, kind = "source") => {
    (marks[tensor] = marks[tensor] || []).push({ index: idx, kind });
  };
  add(name, index, "focus");
  const value = at(T[name], index);
  const head = `${name}${indexText(index)} = ${short(value)}`;
  const winnerOf = (f, i, j) => winners[(f * q + i) * q + j];

  switch (name) {
    case "Z1": {
      const [f, i, j] = index;
      const terms = [];
      for (let a = 0; a < k; a += 1) {
        for (let b = 0; b < k; b += 1) {
          add("X", [i + a, j + b]);
          add("W1", [f, a, b]);
          const x = T.X[i + a][j + b];
          const w = T.W1[f][a][b];
          terms.push({ value: x * w, text: times(x, w) });
        }
      }
      add("b1", cfg.filters > 1 ? [f] : []);
      return { marks, text: `${head} = ${sumText(terms, ` + b1 (${short(T.b1[f])})`)}: the X window times W1, plus b1` };
    }
    case "A1": {
      add("Z1", index);
      const z = at(T.Z1, index);
      return { marks, text: `${head} = max(Z1${indexText(index)} = ${short(z)}, 0): ${z > 0 ? "positive, ReLU keeps it" : "not positive, ReLU gives 0"}` };
    }
    case "P1": {
      const [f, i, j] = index;
      for (let r = 0; r < p; r += 1) for (let c = 0; c < p; c += 1) add("A1", [f, i * p + r, j * p + c]);
      const w = winnerOf(f, i, j);
      add("A1", w, "focus");
      return { marks, text: `${head}: the largest of its ${p}×${p} window of A1, at A1${indexText(w)}` };
    }
    case "F": {
      const [d] = index;
      const f = Math.floor(d / (q * q));
      const rest = d % (q * q);
      const cell = [f, Math.floor(rest / q), rest % q];
      add("P1", cell);
      return { marks, text: `${head}: P1${indexText(cell)}, read filter by filter, row by row` };
    }
    case "dF": {
      add("W2", [0, index[0]]);
      add("dZ2", []);
      return { marks, text: `${head} = dZ2 × W2[0,${index[0]}] = ${short(T.dZ2)} × ${short(T.W2[0][index[0]])}` };
    }
    case "dW2": {
      add("F", [index[1]]);
      add("dZ2", []);
      return { marks, text: `${head} = dZ2 × F[${index[1]}] = ${short(T.dZ2)} × ${short(T.F[index[1]])}` };
    }
    case "dP1": {
      const [f, i, j] = index;
      const d = (f * q + i) * q + j;
      add("dF", [d]);
      return { marks, text: `${head}: dF[${d}] put back in the shape of P1` };
    }
    case "dA1": {
      const [f, r, c] = index;
      const i = Math.floor(r / p);
      const j = Math.floor(c / p);
      if (i >= q || j >= q) return { marks, text: `${head}: outside every pooling window, so it gets 0` };
      const w = winnerOf(f, i, j);
      for (let a = 0; a < p; a += 1) for (let b = 0; b < p; b += 1) add("A1", [f, i * p + a, j * p + b]);
      if (w[1] === r && w[2] === c) {
        add("dP1", [f, i, j]);
        add("A1", w, "focus");
        return { marks, text: `${head}: the maximum of its window, so it receives dP1${indexText([f, i, j])} = ${short(T.dP1[f][i][j])}` };
      }
      add("A1", w, "focus");
      return { marks, text: `${head}: not the maximum of its window (A1${indexText(w)} is), so it gets 0` };
    }
    case "dZ1": {
      add("dA1", index);
      add("Z1", index);
      const z = at(T.Z1, index);
      return { marks, text: `${head} = dA1${indexText(index)} × [Z1 > 0] = ${short(at(T.dA1, index))} × ${z > 0 ? 1 : 0}: ${z > 0 ? "ReLU lets it through" : "ReLU blocks it (Z1 ≤ 0)"}` };
    }
    case "dW1": {
      const [f, a, b] = index;
      const terms = [];
      for (let i = 0; i < m; i += 1) {
        for (let j = 0; j < m; j += 1) {
          const g = T.dZ1[f][i][j];
          if (g !== 0) {
            add("X", [i + a, j + b]);
            add("dZ1", [f, i, j]);
          }
          const x = T.X[i + a][j + b];
          terms.push({ value: x * g, text: times(x, g) });
        }
      }
      return { marks, text: `${head} = Σ X × dZ1 = ${sumText(terms)}: every X value this weight touched, times the gradient there` };
    }
    case "db1": {
      const f = cfg.filters > 1 ? index[0] : 0;
      const terms = [];
      for (let i = 0; i < m; i += 1) {
        for (let j = 0; j < m; j += 1) {
          add("dZ1", [f, i, j]);
          terms.push({ value: T.dZ1[f][i][j], text: short(T.dZ1[f][i][j]) });
        }
      }
      return { marks, text: `${head} = Σ dZ1 = ${sumText(terms)}` };
    }
    case "dX": {
      const [r, c] = index;
      const terms = [];
      for (let f = 0; f < cfg.filters; f += 1) {
        for (let a = 0; a < k; a += 1) {
          for (let b = 0; b < k; b += 1) {
            const i = r - a;
            const j = c - b;
            if (i >= 0 && j >= 0 && i < m && j < m) {
              const g = T.dZ1[f][i][j];
              if (g !== 0) {
                add("dZ1", [f, i, j]);
                add("W1", [f, a, b]);
              }
              terms.push({ value: g * T.W1[f][a][b], text: times(T.W1[f][a][b], g) });
            }
          }
        }
      }
      return { marks, text: `${head} = Σ W1 × dZ1 over the windows that cover this pixel = ${sumText(terms)}` };
    }
    case "X": {
      return { marks, text: `${head}${cfg.kernel_size ? "" : ""}` };
    }
    default:
      return { marks, text: head };
  }
}
