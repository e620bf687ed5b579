// Music Flamingo's page: upload songs, follow their analysis, play them along their
// timeline, and (with a model) describe them and ask questions. Talks to the server's
// HTTP API only; no build step, no third-party code.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("mf-key") || "", model: null, songs: [], current: null };
const SECTION_COLOURS = ["#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6", "#ffffcc", "#e5d8bd", "#fddaec", "#f2f2f2"];
let songCount = 0;

// --- small helpers -----------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

function authHeaders(extra = {}) {
  return state.key ? { ...extra, Authorization: `Bearer ${state.key}` } : extra;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return (body.error && body.error.message) || body.detail || `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: authHeaders(options.headers || {}) });
  if (response.status === 401) $("key-form").hidden = false;
  if (!response.ok) throw new Error(await errorText(response));
  return response;
}

// Server-sent events of a fetch response (fetch, not EventSource, so the key can be sent).
async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = (buffer + value).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

function announce(text) {
  $("progress-live").textContent = text;
}

function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.slice(reader.result.indexOf(",") + 1));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function audioFormat(file) {
  const ext = file.name.includes(".") ? file.name.split(".").pop().toLowerCase() : "";
  return /^[a-z0-9]{1,8}$/.test(ext) ? ext : "wav";
}

// --- the server and its key ----------------------------------------------------------

async function checkServer() {
  const box = $("server");
  try {
    const models = await (await api("/v1/models")).json();
    state.model = (models.data && models.data[0] && models.data[0].id) || null;
  } catch (e) {
    box.replaceChildren(el("span", { class: "dot" }), e.message);
    return;
  }
  if (!state.model) {
    box.replaceChildren(el("span", { class: "dot ok" }), "Facts only: no model loaded");
    return;
  }
  const ready = await fetch("/readyz").then((r) => r.status !== 503, () => false);
  box.replaceChildren(
    el("span", { class: ready ? "dot ok" : "dot wait" }),
    ready ? `Model: ${state.model}` : `Model ${state.model} is loading…`,
  );
  if (!ready) setTimeout(checkServer, 2000);
  if (state.current) showModelPanel();
}

$("key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  state.key = $("api-key").value.trim();
  sessionStorage.setItem("mf-key", state.key);
  $("key-form").hidden = true;
  checkServer();
});

// --- upload and analysis progress ----------------------------------------------------

function addFiles(files) {
  for (const file of files) startSong(file);
}

function startSong(file) {
  const song = { n: ++songCount, file, url: URL.createObjectURL(file), job: null, facts: null };
  song.progress = el("progress", { max: 1, value: 0, "aria-label": `Upload of ${file.name}` });
  song.stateText = el("span", { class: "state", text: "uploading…" });
  song.stages = el("ul", { class: "stages", "aria-label": "Analysis stages" });
  song.show = el("button", { type: "button", class: "link", text: "Show", disabled: true, onclick: () => showSong(song) });
  song.li = el("li", { "data-song": song.n },
    el("div", { class: "row" }, el("span", { class: "name", text: file.name }), song.stateText, song.show),
    song.progress, song.stages);
  $("songs").append(song.li);
  state.songs.push(song);

  const xhr = new XMLHttpRequest();
  xhr.open("POST", `/v1/audio/jobs?name=${encodeURIComponent(file.name)}`);
  for (const [k, v] of Object.entries(authHeaders({ "Content-Type": file.type || "application/octet-stream" }))) {
    xhr.setRequestHeader(k, v);
  }
  let said = -1;
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    song.progress.value = e.loaded / e.total;
    const pct = Math.floor((e.loaded / e.total) * 4) * 25;
    if (pct !== said) announce(`${file.name}: uploaded ${(said = pct)}%`);
  };
  xhr.onload = () => {
    if (xhr.status === 202) {
      song.progress.value = 1;
      updateJob(song, JSON.parse(xhr.responseText));
      follow(song);
      return;
    }
    if (xhr.status === 401) $("key-form").hidden = false;
    let message = `${xhr.status} ${xhr.statusText}`;
    try { message = JSON.parse(xhr.responseText).error.message; } catch { /* not JSON */ }
    failed(song, message);
  };
  xhr.onerror = () => failed(song, "the upload failed (network error)");
  xhr.send(file);
}

function failed(song, message) {
  song.stateText.textContent = message;
  song.stateText.classList.add("failed");
  song.progress.hidden = true;
  announce(`${song.file.name}: ${message}`);
}

async function follow(song) {
  try {
    const response = await api(`/v1/audio/jobs/${song.job.id}/events`);
    for await (const ev of events(response)) {
      if (ev.event === "job") await updateJob(song, JSON.parse(ev.data));
    }
    if (!["done", "failed"].includes(song.job.status)) {
      await updateJob(song, await (await api(`/v1/audio/jobs/${song.job.id}`)).json());
    }
  } catch (e) {
    failed(song, e.message);
  }
}

async function updateJob(song, job) {
  const before = song.job;
  song.job = job;
  song.li.dataset.job = job.id;
  song.stages.replaceChildren(...job.stages.map((s) =>
    el("li", { class: s.state, text: s.seconds != null ? `${s.name} ${s.seconds.toFixed(1)} s` : s.name })));
  const running = job.stages.find((s) => s.state === "running");
  if (job.status === "failed") {
    failed(song, job.error);
  } else if (job.status === "done") {
    song.progress.hidden = true;
    song.stateText.textContent = `done in ${job.seconds.toFixed(1)} s`;
    if (!song.facts) {
      song.facts = await (await api(`/v1/audio/jobs/${job.id}/files/facts.json`)).json();
      song.show.disabled = false;
      announce(`${song.file.name}: analysis done`);
      if (!state.current) showSong(song);
    }
  } else {
    const text = running ? `measuring: ${running.name}` : "waiting for the analyser";
    song.stateText.textContent = text;
    const was = before && before.stages.find((s) => s.state === "running");
    if (!was || !running || was.name !== running.name) announce(`${song.file.name}: ${text}`);
  }
}

// --- one song: player, timeline, curves, facts ----------------------------------------

function showSong(song) {
  state.current = song;
  for (const s of state.songs) s.li.classList.toggle("current", s === song);
  const f = song.facts;
  $("song").hidden = false;
  $("song-title").textContent = song.file.name;
  $("player").src = song.url;
  const strip = [
    ["Key", f.key ? `${f.key.tonic} ${f.key.mode}` : "—"],
    ["Meter", f.meter ? `${f.meter.numerator}/${f.meter.denominator}` : "—"],
    ["Tempo", f.tempo ? `${f.tempo.bpm.toFixed(1)} BPM` : "—"],
    ["Loudness", f.loudness && f.loudness.integrated_lufs != null ? `${f.loudness.integrated_lufs.toFixed(1)} LUFS` : "—"],
    ["Duration", clock(f.duration)],
  ];
  $("facts-strip").replaceChildren(...strip.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }))));
  $("facts-table").tBodies[0].replaceChildren(...song.job.summary.map(([k, v]) =>
    el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: v }))));
  const fit = Math.floor(($("timeline").clientWidth - 2) / Math.max(f.duration, 1));
  $("zoom").value = Math.min(120, Math.max(8, fit)); // a short song fills the width
  renderTimeline();
  renderCurves();
  renderDownloads(song);
  showModelPanel();
  $("describe-out").replaceChildren();
  $("answers").replaceChildren();
}

function seek(seconds) {
  const player = $("player");
  player.currentTime = seconds;
  followPlayhead(seconds, true);
}

function segment(lane, start, end, text, label, colour, clickable) {
  const pps = +$("zoom").value;
  const props = {
    class: "seg", text, title: label, "aria-label": label,
    style: `left:${start * pps}px;width:${Math.max(2, (end - start) * pps - 1)}px;${colour ? `background:${colour}` : ""}`,
    "data-start": start, "data-end": end,
  };
  const node = clickable ? el("button", { ...props, type: "button", onclick: () => seek(start) }) : el("span", props);
  lane.append(node);
  return node;
}

function chordColour(label) {
  if (label === "N" || label === "X") return "#eeeeee";
  const quality = label.split(":")[1] || "maj";
  if (/^(min|dim|hdim)/.test(quality)) return "#c9dcf7";
  return /^maj$|^maj\//.test(quality) || quality === "" ? "#fbd0de" : "#fde9b8";
}

function renderTimeline() {
  const song = state.current, f = song.facts, pps = +$("zoom").value;
  const names = song.job.chord_names || {};
  $("lanes").style.width = `${f.duration * pps}px`;
  const sections = $("lane-sections"), grid = $("lane-grid"), chords = $("lane-chords"), lyrics = $("lane-lyrics");
  for (const lane of [sections, grid, chords, lyrics]) lane.replaceChildren();
  const order = [];
  song.sectionNodes = f.sections.map((s) => {
    const base = s.label.replace(/′+$/, "");
    if (!order.includes(base)) order.push(base);
    const colour = SECTION_COLOURS[order.indexOf(base) % SECTION_COLOURS.length];
    const group = s.group && s.group !== s.label ? ` (${s.group})` : "";
    return segment(sections, s.start, s.end, s.label, `Section ${s.label}${group}, ${clock(s.start)} to ${clock(s.end)}`, colour, true);
  });
  for (const b of f.beats) grid.append(el("span", { class: "tick", style: `left:${b * pps}px` }));
  const every = pps < 20 ? 4 : 1;
  f.downbeats.forEach((d, i) => {
    grid.append(el("span", { class: "tick bar", style: `left:${d * pps}px` }));
    if (i % every === 0) grid.append(el("span", { class: "barno", text: String(i + 1), style: `left:${d * pps}px` }));
  });
  song.chordNodes = f.chords.map((c) => {
    const name = names[c.label] || c.label;
    const spoken = c.label === "N" ? "no chord" : name;
    return segment(chords, c.start, c.end, c.label === "N" ? "N.C." : name, `${spoken} at ${clock(c.start)}`, chordColour(c.label), true);
  });
  song.lyricNodes = (f.lyrics ? f.lyrics.lines : []).map((l) =>
    segment(lyrics, l.start, l.end, l.text, `${clock(l.start)} ${l.text}`, null, false));
  if (!f.lyrics) lyrics.append(el("span", { class: "seg", style: "left:4px;width:auto;opacity:.7", text: `No lyrics: ${f.undetected.lyrics || "none detected"}` }));
  song.nowNodes = [];
  followPlayhead($("player").currentTime || 0, true);
}

function curve(svg, points, duration) {
  svg.replaceChildren();
  if (points.length < 2) return null;
  const values = points.map((p) => p[1]);
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-6) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.1;
  lo -= pad; hi += pad;
  const ns = "http://www.w3.org/2000/svg";
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.map(([t, v]) => `${(t / duration) * 600},${140 - ((v - lo) / (hi - lo)) * 140}`).join(" "));
  const mid = document.createElementNS(ns, "line");
  for (const [k, v] of Object.entries({ x1: 0, x2: 600, y1: 70, y2: 70, class: "axis" })) mid.setAttribute(k, v);
  const ph = document.createElementNS(ns, "line");
  for (const [k, v] of Object.entries({ x1: 0, x2: 0, y1: 0, y2: 140, class: "ph" })) ph.setAttribute(k, v);
  svg.append(mid, line, ph);
  return [Math.min(...values), Math.max(...values)];
}

function renderCurves() {
  const f = state.current.facts;
  const tempo = f.tempo ? f.tempo.curve.map((p) => [p.time, p.bpm]) : [];
  const t = curve($("tempo-curve"), tempo, f.duration);
  const [slow, fast] = t ? t.map((v) => v.toFixed(0)) : [];
  $("tempo-range").textContent = !t ? `(${f.undetected.tempo || "not measured"})` : slow === fast ? `${slow} BPM throughout` : `${slow}–${fast} BPM`;
  const lo = f.loudness ? f.loudness.curve_times.map((x, i) => [x, f.loudness.curve_lufs[i]]) : [];
  const l = curve($("loud-curve"), lo, f.duration);
  $("loud-range").textContent = l ? `${l[0].toFixed(0)} to ${l[1].toFixed(0)} LUFS` : "(not measured)";
  for (const end of document.querySelectorAll(".axis-times .end")) end.textContent = clock(f.duration);
}

function at(nodes, t) {
  return nodes.find((n) => +n.dataset.start <= t && t < +n.dataset.end) || null;
}

function followPlayhead(t, jump = false) {
  const song = state.current;
  if (!song) return;
  const pps = +$("zoom").value, x = t * pps;
  $("playhead").style.left = `${x}px`;
  for (const id of ["tempo-curve", "loud-curve"]) {
    const ph = $(id).querySelector(".ph");
    if (ph) { const px = (t / song.facts.duration) * 600; ph.setAttribute("x1", px); ph.setAttribute("x2", px); }
  }
  const now = [at(song.sectionNodes, t), at(song.chordNodes, t), at(song.lyricNodes, t)];
  for (const n of song.nowNodes) if (!now.includes(n)) n.classList.remove("now");
  for (const n of now) if (n) n.classList.add("now");
  song.nowNodes = now.filter(Boolean);
  const bar = song.facts.downbeats.filter((d) => d <= t + 1e-3).length;
  const parts = [["Time", clock(t)], ["Section", now[0] && now[0].textContent], ["Bar", bar || null],
    ["Chord", now[1] && now[1].textContent], ["Lyric", now[2] && now[2].textContent]];
  $("now").replaceChildren(...parts.filter(([, v]) => v).map(([k, v]) => el("span", {}, `${k} `, el("b", { text: String(v) }))));
  const box = $("timeline");
  if ($("follow").checked && (jump || x < box.scrollLeft || x > box.scrollLeft + box.clientWidth * 0.85)) {
    box.scrollLeft = Math.max(0, x - box.clientWidth * 0.25);
  }
}

function animate() {
  const player = $("player");
  followPlayhead(player.currentTime);
  if (!player.paused && !player.ended) requestAnimationFrame(animate);
}

// --- downloads -----------------------------------------------------------------------

function download(url, name) {
  return async (e) => {
    if (!state.key) return; // a plain link works without a key
    e.preventDefault();
    const blob = await (await api(url)).blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: name });
    a.click();
    URL.revokeObjectURL(a.href);
  };
}

async function renderDownloads(song) {
  const base = `/v1/audio/jobs/${song.job.id}/files/`;
  const stem = song.file.name.replace(/\.[^.]*$/, "") || "song";
  $("downloads").replaceChildren(...song.job.files.map((name) =>
    el("li", {}, el("a", { href: base + name, download: `${stem}-${name}`, onclick: download(base + name, `${stem}-${name}`), text: name }))));
  $("plots").replaceChildren();
  if (song.job.files.includes("chords.png")) {
    const blob = await (await api(base + "chords.png")).blob();
    $("plots").append(el("img", { src: URL.createObjectURL(blob), alt: "Chord timeline plot from the report" }));
  }
}

// --- the model: describe, fact check, questions ----------------------------------------

function showModelPanel() {
  $("model").hidden = !state.model;
  $("model-id").textContent = state.model ? `(${state.model})` : "";
}

function songAudio(song) {
  return fileBase64(song.file).then((data) => ({ data, format: audioFormat(song.file) }));
}

const VERDICT_TEXT = { agrees: "✓ agrees", contradicts: "✗ disagrees", "not comparable": "– not comparable" };

function verdictBadge(item) {
  const v = item.verdict;
  const kind = v === "agrees" ? "agrees" : v === "contradicts" ? "contradicts" : v === "not comparable" ? "other" : "related";
  return el("span", { class: `verdict ${kind}`, text: VERDICT_TEXT[v] || `≈ ${v}`, title: item.note || v });
}

function renderDescription(described) {
  const facts = described.key_facts;
  const items = (described.fact_check && described.fact_check.items) || [];
  const nodes = [el("h4", { text: "Caption" }), el("p", { class: "caption", text: described.caption })];
  nodes.push(el("h4", { text: "Key facts, checked against the measured facts" }));
  if (facts) {
    const checked = Object.fromEntries(items.map((i) => [i.aspect.toLowerCase(), i]));
    const rows = [["Genre", facts.genre], ["Tempo", facts.bpm ? `${facts.bpm} BPM` : null], ["Key", facts.key],
      ["Meter", facts.meter], ["Instruments", (facts.instruments || []).join(", ")], ["Vocals", facts.vocals],
      ["Mood", (facts.mood || []).join(", ")], ["Chords", (facts.chords || []).join(" ")]];
    const body = rows.map(([k, v]) => {
      const item = checked[k.toLowerCase()];
      return el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: v || "–" }),
        el("td", { text: item ? item.measured || "–" : "" }), el("td", {}, item ? verdictBadge(item) : ""));
    });
    nodes.push(el("div", { class: "scroll-x" }, el("table", { class: "facts check" },
      el("thead", {}, el("tr", {}, ...["Aspect", "Model", "Measured", "Check"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...body))));
  } else {
    nodes.push(el("p", { text: "The model gave no readable key facts, so there is nothing to check." }));
  }
  $("describe-out").replaceChildren(...nodes);
}

$("describe").addEventListener("click", async () => {
  const song = state.current, button = $("describe");
  button.disabled = true;
  $("describe-out").replaceChildren(el("p", { text: "Listening…" }));
  try {
    const body = { model: state.model, audio: await songAudio(song), facts: song.facts };
    const response = await api("/v1/audio/describe", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    renderDescription(await response.json());
  } catch (e) {
    $("describe-out").replaceChildren(el("p", { class: "error", text: e.message }));
  } finally {
    button.disabled = false;
  }
});

// While streaming: <think>…</think> goes to the folded reasoning, the rest to the answer.
function showRaw(raw, thinking, folded, answer) {
  const m = raw.match(/<think>([\s\S]*?)(<\/think>|$)/i);
  if (!m) { answer.textContent = raw; return; }
  folded.hidden = false;
  thinking.textContent = m[1].trim();
  answer.textContent = (raw.slice(0, m.index) + raw.slice(m.index + m[0].length)).replace(/<\/?answer>/gi, "").trim();
}

$("ask").addEventListener("submit", async (e) => {
  e.preventDefault();
  const song = state.current, question = $("question").value.trim();
  const choices = $("choices").value.split("\n").map((c) => c.trim()).filter(Boolean);
  if (!question) return;
  const answer = el("p", { class: "a" }), thinking = el("pre");
  const folded = el("details", { hidden: true }, el("summary", { text: "Thinking" }), thinking);
  const entry = el("div", { class: "answer" }, el("p", { class: "q", text: question + (choices.length ? "\n" + choices.map((c, i) => `(${String.fromCharCode(65 + i)}) ${c}`).join("\n") : "") }), folded, answer);
  $("answers").prepend(entry);
  $("ask-button").disabled = true;
  try {
    const params = new URLSearchParams({ question, think: $("think").checked });
    for (const c of choices) params.append("option", c);
    const prompt = await (await api(`/v1/audio/prompt?${params}`)).json();
    const body = {
      model: state.model, stream: true, max_tokens: prompt.max_tokens,
      messages: [{ role: "user", content: [{ type: "input_audio", input_audio: await songAudio(song) }, { type: "text", text: prompt.text }] }],
    };
    const response = await api("/v1/chat/completions", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    let raw = "", reasoning = "", extras = null, chunks = 0;
    for await (const ev of events(response)) {
      if (ev.data === "[DONE]") break;
      const chunk = JSON.parse(ev.data);
      if (chunk.error) throw new Error(chunk.error.message);
      const delta = (chunk.choices && chunk.choices[0] && chunk.choices[0].delta) || {};
      if (chunk.musicflamingo) extras = chunk.musicflamingo;
      if (delta.reasoning_content) reasoning += delta.reasoning_content;
      if (delta.content) showRaw(raw += delta.content, thinking, folded, answer);
      if (delta.content || delta.reasoning_content) entry.dataset.chunks = ++chunks;
    }
    // the server's own split of the finished answer replaces the live one
    if (reasoning) { folded.hidden = false; thinking.textContent = reasoning; }
    if (extras && extras.answer) answer.textContent = extras.answer;
    if (!answer.textContent) answer.textContent = "(no answer)";
    for (const w of (extras && extras.warnings) || []) entry.append(el("p", { class: "muted", text: w }));
    entry.dataset.done = "1";
  } catch (err) {
    answer.append(el("span", { class: "error", text: ` ${err.message}` }));
    entry.dataset.done = "error";
  } finally {
    $("ask-button").disabled = false;
  }
});

// --- wiring ---------------------------------------------------------------------------

$("file").addEventListener("change", (e) => { addFiles(e.target.files); e.target.value = ""; });
const drop = $("drop");
document.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
document.addEventListener("dragleave", (e) => { if (!e.relatedTarget) drop.classList.remove("over"); });
document.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  addFiles(e.dataTransfer.files);
});
const player = $("player");
player.addEventListener("play", () => requestAnimationFrame(animate));
for (const name of ["seeked", "timeupdate", "pause", "loadedmetadata"]) player.addEventListener(name, () => followPlayhead(player.currentTime));
$("zoom").addEventListener("input", () => { if (state.current) renderTimeline(); });
window.addEventListener("resize", () => followPlayhead(player.currentTime, true));
checkServer();
