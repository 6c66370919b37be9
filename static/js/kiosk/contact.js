// The contact step: name and phone only with 我同意 ticked; 不留联系方式
// unticks it and empties both.

import { clearField } from "./keyboard.js";

export function showConsent(screen) {
  const box = screen.querySelector("[data-consent-box]");
  const anonymous = screen.querySelector("[data-anonymous-choice]");
  if (!box || !anonymous) return;
  const consent = box.querySelector('input[name="consent"]').checked;
  box.classList.toggle("chosen", consent);
  box.querySelectorAll("[data-keyboard]").forEach((input) => { input.disabled = !consent; });
  box.querySelector("[data-consent-first]").hidden = consent;
  anonymous.classList.toggle("chosen", !consent);
  anonymous.setAttribute("aria-pressed", String(!consent));
  anonymous.querySelector("[data-chosen-badge]").hidden = consent;
}

function forgetContact(screen) {
  screen.querySelectorAll("[data-consent-box] [data-keyboard]").forEach(clearField);
}

document.addEventListener("change", (event) => {
  if (!event.target.matches('[data-consent-box] input[name="consent"]')) return;
  const screen = event.target.closest("#screen");
  if (!event.target.checked) forgetContact(screen);
  showConsent(screen);
  if (event.target.checked) screen.querySelector('[data-consent-box] [data-keyboard]')?.focus();
});

// "不留联系方式" is a choice on this screen (tapping it again keeps it);
// "下一步" then goes on. Without JavaScript it submits the form as it is.
document.addEventListener("click", (event) => {
  const anonymous = event.target.closest("[data-anonymous-choice]");
  if (!anonymous) return;
  event.preventDefault();
  const screen = anonymous.closest("#screen");
  screen.querySelector('[data-consent-box] input[name="consent"]').checked = false;
  forgetContact(screen);
  showConsent(screen);
}, true);
