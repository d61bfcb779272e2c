// The API client: the only module that knows the server's URLs.

export class ApiError extends Error {
  constructor(status, detail) {
    super(ApiError.describe(detail) || `request failed (${status})`);
    this.status = status;
    this.detail = detail;
  }

  // One readable line per problem: "x: must have shape (6, 6), got (5, 6)".
  static describe(detail) {
    if (!detail) return "";
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => {
        const where = (d.loc || []).filter((p) => p !== "body").join(".");
        return where ? `${where}: ${d.msg}` : d.msg;
      }).join("; ");
    }
    return JSON.stringify(detail);
  }
}

export async function request(method, url, body, signal, headers) {
  const init = { method, headers: { Accept: "application/json", ...headers }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data && data.detail);
  return data;
}

const session = (id) => `/api/sessions/${encodeURIComponent(id)}`;
const shown = (example) => (example ? `?example=${encodeURIComponent(example)}` : "");

export const api = {
  meta: () => request("GET", "/api/meta"),
  presets: (inputSize) => request("GET", `/api/presets?input_size=${inputSize}`),
  datasets: (inputSize) => request("GET", `/api/datasets?input_size=${inputSize}`),
  train: (body, signal) => request("POST", "/api/train", body, signal),
  // The walk: one session on the server holds the example, the parameters and the cursor.
  createSession: (body) => request("POST", "/api/sessions", body),
  // example: in a mini-batch walk, whose tensors the answer shows (0 … N-1; the server
  // keeps no choice between requests, so every move names it)
  session: (id, example = 0) => request("GET", `${session(id)}${shown(example)}`),
  next: (id, example = 0) => request("POST", `${session(id)}/next${shown(example)}`),
  prev: (id, example = 0) => request("POST", `${session(id)}/prev${shown(example)}`),
  goto: (id, epoch, cursor, example = 0) =>
    request("POST", `${session(id)}/goto${shown(example)}`, { epoch, cursor }),
  reset: (id) => request("POST", `${session(id)}/reset`),
  patch: (id, body) => request("PATCH", session(id), body),
  provenance: (id, tensor, index, example = 0) =>
    request("GET", `${session(id)}/provenance/${encodeURIComponent(tensor)}?index=${index.join(",")}` +
      (example ? `&example=${encodeURIComponent(example)}` : "")),
  provenanceCells: (id, tensor, example = 0) =>
    request("GET", `${session(id)}/provenance/${encodeURIComponent(tensor)}/cells${shown(example)}`),
  gradcheck: (id) => request("POST", `${session(id)}/gradcheck`),
  lessonFile: (id) => download(`/api/sessions/${encodeURIComponent(id)}/lesson`),
  // Practice on a walk's own numbers: its example and the parameters of its current pass
  // travel in the hash (never sent to the server in a URL), as POST /api/exercises's example.
  practicePath: (step, example) => `/practice?step=${encodeURIComponent(step)}` +
    (example ? `#example=${encodeURIComponent(JSON.stringify(example))}` : ""),
  plotlyUrl: "/vendor/plotly.min.js",
  // Demo mode. The presenter key travels in a header, never in these URLs.
  demoLesson: (key) => request("GET", "/api/demo/lesson", undefined, undefined, demoKey(key)),
  demoOpen: (room, key) => request("POST", "/api/demo/rooms", { room }, undefined, demoKey(key)),
  demoState: (room) => request("GET", `/api/demo/${encodeURIComponent(room)}`),
  demoGoto: (room, beat, key, by) =>
    request("POST", `/api/demo/${encodeURIComponent(room)}/goto`, { beat, by }, undefined, demoKey(key)),
  demoSocketUrl: (room) =>
    `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/follow/${encodeURIComponent(room)}`,
  demoFollowPath: (room) => `/follow/${encodeURIComponent(room)}`,
  demoPresenterPath: (room) => `/demo?room=${encodeURIComponent(room)}`,
};

function demoKey(key) {
  return key ? { "X-Demo-Key": key } : {};
}

// The room answers: a student's token and the presenter's key travel in headers.
const demoRoom = (room) => `/api/demo/${encodeURIComponent(room)}`;
const studentToken = (token) => (token ? { "X-Student-Token": token } : {});

async function download(url, headers) {
  const response = await fetch(url, { headers });
  if (!response.ok) {
    const text = await response.text();
    let detail = text;
    try { detail = JSON.parse(text).detail; } catch { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  return response.blob();
}

export const answers = {
  join: (room, name, studentId) =>
    request("POST", `${demoRoom(room)}/join`, { name, student_id: studentId || null }),
  question: (room, token) =>
    request("GET", `${demoRoom(room)}/question`, undefined, undefined, studentToken(token)),
  // confidence: "sure" or "unsure" (a two-round question's), or none
  answer: (room, question, token, answer, confidence) =>
    request("PUT", `${demoRoom(room)}/questions/${encodeURIComponent(question)}/answer`,
      confidence ? { answer, confidence } : { answer }, undefined, studentToken(token)),
  live: (room, question, key) =>
    request("GET", `${demoRoom(room)}/questions/${encodeURIComponent(question)}/live`,
      undefined, undefined, demoKey(key)),
  // more: { round, timer } of a two-round question (round 2; its timer in seconds, 0 none)
  setState: (room, question, state, key, more = {}) =>
    request("POST", `${demoRoom(room)}/questions/${encodeURIComponent(question)}/state`,
      { state, ...more }, undefined, demoKey(key)),
  // assignment: a Canvas assignment's ID for the total's column ("Title (ID)"), or empty
  resultsCsv: (room, layout, key, assignment = "") =>
    download(`${demoRoom(room)}/results.csv?layout=${encodeURIComponent(layout)}` +
      (assignment ? `&assignment=${encodeURIComponent(assignment)}` : ""), demoKey(key)),
  students: (room, key) =>
    request("GET", `${demoRoom(room)}/students`, undefined, undefined, demoKey(key)),
  removeStudents: (room, body, key) =>
    request("POST", `${demoRoom(room)}/students/remove`, body, undefined, demoKey(key)),
  dismissDispute: (room, dispute, key) =>
    request("DELETE", `${demoRoom(room)}/disputes/${encodeURIComponent(dispute)}`, undefined,
      undefined, demoKey(key)),
  answersCsv: (room, question, key) =>
    download(`${demoRoom(room)}/questions/${encodeURIComponent(question)}/answers.csv`, demoKey(key)),
  // The concept check, before and after the lesson (phase "pre" or "post"), and the SUS.
  check: (room, token) =>
    request("GET", `${demoRoom(room)}/check`, undefined, undefined, studentToken(token)),
  checkAnswer: (room, phase, question, token, answer) =>
    request("PUT", `${demoRoom(room)}/check/${encodeURIComponent(phase)}/${encodeURIComponent(question)}/answer`,
      { answer }, undefined, studentToken(token)),
  sus: (room, token, values) =>
    request("PUT", `${demoRoom(room)}/sus`, { answers: values }, undefined, studentToken(token)),
  checkState: (room, phase, state, key) =>
    request("POST", `${demoRoom(room)}/check/state`, { phase, state }, undefined, demoKey(key)),
  gain: (room, key) => request("GET", `${demoRoom(room)}/gain`, undefined, undefined, demoKey(key)),
  checkCsv: (room, key) => download(`${demoRoom(room)}/check.csv`, demoKey(key)),
};

// Practice: exercises graded on the server (the answer stays there until revealed).
export const exercises = {
  // network: a network's spec (its steps and misconceptions), or none for the seed's
  catalogue: (network) => request("GET", network
    ? `/api/exercises?network=${encodeURIComponent(JSON.stringify(network))}` : "/api/exercises"),
  create: (body) => request("POST", "/api/exercises", body),
  get: (id) => request("GET", `/api/exercises/${encodeURIComponent(id)}`),
  answer: (id, answer) =>
    request("POST", `/api/exercises/${encodeURIComponent(id)}/answer`, { answer }),
  reveal: (id) => request("POST", `/api/exercises/${encodeURIComponent(id)}/reveal`),
  next: (id) => request("POST", `/api/exercises/${encodeURIComponent(id)}/next`),
  pagePath: (step) => `/practice?step=${encodeURIComponent(step)}`,
};
