// 说话留言 on the writing step (templates/intake/_voice.html): record with
// the microphone, stop, play back, then keep (sent to the station, which
// checks it and keeps it with the draft) or redo. WebM/Opus at about
// 24 kbit/s: two minutes are some 360 KB, not the 2 MB of the default rate.
// The recording stays in this page's memory until it is kept; nothing is
// stored in the browser.

import { updateCounter } from "./counter.js";
import { restartIdleTimer } from "./idle.js";

const MIME = "audio/webm;codecs=opus";
let recorder = null;
let recording = null; // the Blob not kept yet
let timer = null;
let startedAt = 0;
let objectUrl = null;

function canRecord() {
  return Boolean(navigator.mediaDevices?.getUserMedia && window.MediaRecorder?.isTypeSupported?.(MIME));
}

function panel() {
  return document.querySelector("[data-voice]");
}

function show(root, state) {
  root.dataset.state = state;
  const visible = {
    idle: ["record"],
    recording: ["stop", "time"],
    recorded: ["play", "keep", "redo"],
    sending: [],
  }[state];
  for (const name of ["record", "stop", "play", "keep", "redo", "time"]) {
    const element = root.querySelector(`[data-voice-${name}]`);
    if (element) element.hidden = !visible.includes(name);
  }
}

function note(root, text) {
  const place = root.querySelector("[data-voice-note]");
  if (place) place.textContent = text;
}

function clock(seconds) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function forget() {
  recording = null;
  if (objectUrl) URL.revokeObjectURL(objectUrl);
  objectUrl = null;
}

async function record(root) {
  forget();
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    note(root, "话筒用不了，请改用文字留言，或告诉工作人员。");
    return;
  }
  const parts = [];
  const maxSeconds = Number(root.dataset.voiceMaxSeconds);
  recorder = new MediaRecorder(stream, { mimeType: MIME, audioBitsPerSecond: Number(root.dataset.voiceBits) });
  recorder.addEventListener("dataavailable", (event) => { if (event.data.size) parts.push(event.data); });
  recorder.addEventListener("stop", () => {
    stream.getTracks().forEach((track) => track.stop());
    clearInterval(timer);
    recorder = null;
    const here = panel();
    if (!here || here.dataset.state !== "recording") return; // the screen went away meanwhile
    recording = new Blob(parts, { type: "audio/webm" });
    note(here, `录好了（${Math.max(1, Math.round((Date.now() - startedAt) / 1000))} 秒）。可以先听一遍，再点“保留”。`);
    show(here, "recorded");
  });
  startedAt = Date.now();
  recorder.start(1000);
  note(root, "");
  root.querySelector("[data-voice-elapsed]").textContent = clock(0);
  show(root, "recording");
  timer = setInterval(() => {
    // Someone speaking touches nothing: that is no reason to wipe their draft.
    restartIdleTimer();
    const seconds = Math.floor((Date.now() - startedAt) / 1000);
    const here = panel();
    if (here) here.querySelector("[data-voice-elapsed]").textContent = clock(Math.min(seconds, maxSeconds));
    if (Date.now() - startedAt >= maxSeconds * 1000) stop();
  }, 250);
}

function stop() {
  if (recorder && recorder.state !== "inactive") recorder.stop();
}

function play(root) {
  const audio = root.querySelector("[data-voice-audio]");
  if (recording && root.dataset.state === "recorded") {
    if (!objectUrl) objectUrl = URL.createObjectURL(recording);
    audio.src = objectUrl;
  }
  audio.currentTime = 0;
  audio.play().catch(() => note(root, "播放不了，请重录。"));
  const keepAwake = setInterval(() => (audio.ended || audio.paused ? clearInterval(keepAwake) : restartIdleTimer()), 1000);
}

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch {
    return "";
  }
}

async function keep(root) {
  if (!recording) return;
  show(root, "sending");
  note(root, "正在保存录音……");
  let html;
  try {
    const response = await fetch(root.dataset.voiceUpload, {
      method: "POST",
      headers: { "Content-Type": "audio/webm", "X-CSRFToken": csrfToken(), "HX-Request": "true" },
      credentials: "same-origin",
      cache: "no-store",
      body: recording,
    });
    if (!response.ok) throw new Error(String(response.status));
    html = await response.text();
  } catch {
    // The recording is still here: the person can try 保留 again.
    note(root, "录音没有保存成功，请再点一次“保留”。");
    show(root, "recorded");
    return;
  }
  forget();
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  const fresh = template.content.querySelector("[data-voice]");
  if (!fresh) return;
  root.replaceWith(fresh);
  fresh.hidden = false;
  window.htmx?.process(fresh);
  ruleFollows(fresh);
}

function redo(root) {
  forget();
  note(root, "");
  show(root, "idle");
  record(root);
}

document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-voice] button");
  const root = button?.closest("[data-voice]");
  if (!button || !root || button.type === "submit") return;
  if (button.matches("[data-voice-record]")) record(root);
  else if (button.matches("[data-voice-stop]")) stop();
  else if (button.matches("[data-voice-play]")) play(root);
  else if (button.matches("[data-voice-keep]")) keep(root);
  else if (button.matches("[data-voice-redo]")) redo(root);
});

// The counter's minimum follows the panel: none while a recording is kept.
function ruleFollows(root) {
  const counter = document.getElementById("content-counter");
  const rule = counter?.querySelector("[data-counter-rule]");
  if (!counter || !rule) return;
  const spoken = root?.dataset.state === "kept";
  counter.dataset.min = spoken ? "0" : counter.dataset.minWritten;
  rule.textContent = spoken ? "有语音留言，文字可不写" : rule.dataset.written;
  const textarea = document.querySelector("[data-counter]");
  if (textarea) updateCounter(textarea);
}

// A new screen: show the panel where this browser can record; a recording
// left unkept on a screen that went away is dropped with it.
export function setUpVoice(screen) {
  const root = screen.querySelector("[data-voice]");
  if (!root) {
    stop();
    forget();
    return;
  }
  if (canRecord() || root.dataset.state === "kept") root.hidden = false;
}

// 重录 of a kept recording: the station's answer replaces the panel.
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.elt?.matches?.("[data-voice]") || event.detail.target?.matches?.("[data-voice]")) ruleFollows(panel());
});

setUpVoice(document);
