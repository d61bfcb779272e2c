// Compare mode's requests: POST /api/compare and the moves of one comparison, through the
// one request helper every page uses.

import { request } from "../common/api.js";

const one = (id) => `/api/compare/${encodeURIComponent(id)}`;
const example = (n) => (n ? `?example=${n}` : "");

export const compareApi = {
  // body: {base: WALK, switch: NAME} or {a: WALK, b: WALK}
  create: (body) => request("POST", "/api/compare", body),
  view: (id, n = 0) => request("GET", `${one(id)}${example(n)}`),
  next: (id, n = 0) => request("POST", `${one(id)}/next${example(n)}`),
  prev: (id, n = 0) => request("POST", `${one(id)}/prev${example(n)}`),
  reset: (id) => request("POST", `${one(id)}/reset`),
  goto: (id, epoch, position, n = 0) => request("POST", `${one(id)}/goto${example(n)}`, { epoch, position }),
  remove: (id) => request("DELETE", one(id)),
  pagePath: "/compare",
};
