// The candidate row over the pinyin keyboard: at every keystroke the station's
// Rime engine is asked for words (/ime/candidates); a tapped candidate takes
// the letters it stands for (/ime/pick) and the letters it leaves stay as
// pinyin to go on with. The text before the letters goes along, so what was
// written just before ranks the candidates.

import { caretOf, currentField, hasTypedPinyin, replaceText } from "./keyboard.js";

const CONTEXT_CHARS = 40;
let asked = 0; // the latest question; older answers are dropped
let shown = null; // { field, letters, start, end, context, offset, more }

function pageSize() {
  return window.innerWidth >= 1400 ? 12 : 8;
}

// The pinyin just before the caret: the letters (and ' separators) typed there.
function pendingPinyin(element) {
  if (!hasTypedPinyin(element)) return null;
  const end = caretOf(element);
  const before = element.value.slice(0, end);
  const match = before.match(/[a-z']+$/);
  if (!match || !/[a-z]/.test(match[0])) return null;
  const start = end - match[0].length;
  return { letters: match[0], start, end, context: before.slice(Math.max(0, start - CONTEXT_CHARS), start) };
}

function row(element) {
  return element?.closest("#screen")?.querySelector("[data-candidate-row]");
}

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch {
    return "";
  }
}

function clearRow(element) {
  const place = row(element);
  if (place) {
    place.hidden = true;
    place.querySelector("[data-candidate-list]").replaceChildren();
  }
  shown = null;
}

async function ask(element, offset = 0) {
  const pending = pendingPinyin(element);
  const question = ++asked;
  if (!pending) {
    clearRow(element);
    return;
  }
  const params = new URLSearchParams({ letters: pending.letters, context: pending.context, limit: pageSize(), offset });
  let answer;
  try {
    const response = await fetch(`${document.body.dataset.imeCandidates}?${params}`, { headers: { "HX-Request": "true" } });
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.status);
  } catch (error) {
    if (question === asked) showError(element, String(error.message || error));
    return;
  }
  if (question !== asked || currentField() !== element) return;
  shown = { field: element, ...pending, offset, more: answer.more };
  render(element, answer.candidates);
}

function render(element, candidates) {
  const place = row(element);
  if (!place) return;
  const list = place.querySelector("[data-candidate-list]");
  list.replaceChildren(...candidates.map((text, n) => {
    const button = Object.assign(document.createElement("button"), { type: "button", className: "candidate", textContent: text });
    button.dataset.testid = `candidate-${n}`;
    button.dataset.candidateNumber = String(shown.offset + n);
    return button;
  }));
  place.querySelector("[data-candidates-prev]").disabled = shown.offset === 0;
  place.querySelector("[data-candidates-next]").disabled = !shown.more;
  place.querySelector("[data-candidate-error]").hidden = true;
  // What the row answers, for whoever needs to know it is up to date.
  place.dataset.letters = shown.letters;
  place.dataset.offset = String(shown.offset);
  place.hidden = false;
}

function showError(element, message) {
  const place = row(element);
  if (!place) return;
  place.querySelector("[data-candidate-list]").replaceChildren();
  const error = place.querySelector("[data-candidate-error]");
  error.textContent = message;
  error.hidden = false;
  place.hidden = false;
}

async function pick(number) {
  if (!shown) return;
  const { field, letters, start, end, context } = shown;
  const question = ++asked;
  const body = new URLSearchParams({ letters, number, context });
  let answer;
  try {
    const response = await fetch(document.body.dataset.imePick, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
      body,
    });
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.status);
  } catch (error) {
    if (question === asked) showError(field, String(error.message || error));
    return;
  }
  // Typed on meanwhile: the letters are no longer those the answer is for.
  if (question !== asked || field.value.slice(start, end) !== letters) return;
  replaceText(field, start, end, answer.text + answer.rest);
  // The field's input event asked again for what is left (or cleared the row).
}

document.addEventListener("input", (event) => {
  const element = event.target;
  if (element?.dataset?.keyboard === "pinyin") ask(element);
});

document.addEventListener("pinyin-refresh", (event) => ask(event.target));

// Another field took the keyboard: its own pinyin, or none (the digits of the phone).
document.addEventListener("focusin", (event) => {
  const element = event.target.closest?.("[data-keyboard]");
  if (!element) return;
  if (element.dataset.keyboard === "pinyin") ask(element);
  else {
    asked++;
    clearRow(element);
  }
});

// The row's buttons are under the keyboard panel, which keeps the field's focus.
document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-candidate-row] button");
  if (!button || !shown) return;
  if (button.dataset.candidateNumber !== undefined) {
    pick(Number(button.dataset.candidateNumber));
  } else if (button.matches("[data-candidates-next]") && shown.more) {
    ask(shown.field, shown.offset + pageSize());
  } else if (button.matches("[data-candidates-prev]") && shown.offset > 0) {
    ask(shown.field, Math.max(0, shown.offset - pageSize()));
  }
});
