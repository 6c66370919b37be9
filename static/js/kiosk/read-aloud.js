// 朗读: the top bar's button reads the screen's question and buttons aloud
// (kiosk/prompts.py made the files). The first tap in a visit asks 普通话 or
// 粤语; the station keeps the answer until the visit ends (the home screen
// or the idle wipe), so the next screen's button already knows it.

import { restartIdleTimer } from "./idle.js";

const choice = document.querySelector("[data-read-aloud-choice]");
const audio = document.querySelector("[data-read-aloud-audio]");
let waiting = null; // the button that asked for the language

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch {
    return "";
  }
}

function read(button, language) {
  audio.src = button.dataset.readUrl.replace("LANGUAGE", language);
  audio.play().catch(() => { /* a prompt that cannot play leaves the screen as it is */ });
  const awake = setInterval(() => (audio.ended || audio.paused ? clearInterval(awake) : restartIdleTimer()), 1000);
}

async function choose(language) {
  choice.hidden = true;
  const button = waiting;
  waiting = null;
  const body = new URLSearchParams({ language });
  try {
    await fetch(choice.dataset.readLanguageUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
      body,
    });
  } catch { /* read now anyway; the next screen asks again */ }
  document.querySelectorAll("[data-read-aloud]").forEach((b) => { b.dataset.readLanguage = language; });
  if (button?.isConnected) read(button, language);
}

document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-read-aloud]");
  if (button) {
    const language = button.dataset.readLanguage;
    if (language) {
      read(button, language);
    } else {
      waiting = button;
      choice.hidden = false;
    }
    return;
  }
  const picked = event.target.closest?.("[data-read-language-choice]");
  if (picked) choose(picked.dataset.readLanguageChoice);
});

// A new screen stops the old screen's words.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.target?.id === "screen" && audio && !audio.paused) audio.pause();
});
