// The kiosk in the browser: the on-screen keyboard, the idle wipe, the
// contact step's consent switch, and the guard against a second tap landing
// on the screen that the first one brought.
//
// Nothing here keeps anything: no localStorage, no sessionStorage, no history
// entries. Everything typed lives in the page until a step is sent to the
// server, and the idle wipe blanks the page before it asks the server to
// forget the draft.

const body = document.body;
const settings = body.dataset;

// htmx notes the page's path in sessionStorage when it loads, for a history
// it will never use here (historyEnabled is off): nothing stays.
try { sessionStorage.removeItem("htmx-current-path-for-history"); } catch { /* storage may be disabled */ }

// ---------------------------------------------------------------- keyboard

const DISPLAY = {
  "{bksp}": "⌫ 删除",
  "{space}": "空格",
  "{enter}": "换行",
  "{symbols}": "符号",
  "{letters}": "拼音",
  "{done}": "完成",
};

const LAYOUTS = {
  // Letters in the usual pinyin order, digits, and Chinese punctuation.
  pinyin: {
    default: [
      "1 2 3 4 5 6 7 8 9 0 {bksp}",
      "q w e r t y u i o p",
      "a s d f g h j k l",
      "z x c v b n m",
      "{symbols} ， 。 {space} ？ ！ {enter}",
    ],
    symbols: [
      "1 2 3 4 5 6 7 8 9 0 {bksp}",
      "、 ： ； “ ” （ ） 《 》 …",
      "- + = % ￥ @ . / # *",
      "{letters} ， 。 {space} ？ ！ {enter}",
    ],
  },
  // A telephone pad.
  digits: {
    default: ["1 2 3", "4 5 6", "7 8 9", "{bksp} 0 {done}"],
  },
  // Receipt numbers and 验证码: digits, then letters in A-Z order as they
  // are read off the paper.
  code: {
    default: [
      "1 2 3 4 5 6 7 8 9 0 {bksp}",
      "A B C D E F G H I J",
      "K L M N O P Q R S T",
      "U V W X Y Z - {done}",
    ],
  },
};

const BUTTON_THEME = [
  { class: "key-action", buttons: "{bksp} {symbols} {letters} {enter}" },
  { class: "key-space", buttons: "{space}" },
  { class: "key-done", buttons: "{done}" },
];

let pinyinCandidates = {};
import(settings.pinyinLayout)
  .then((module) => { pinyinCandidates = module.default.layoutCandidates; })
  .catch((error) => console.error("pinyin candidates did not load", error));

let keyboard = null; // the simple-keyboard of the current screen
let keyboardPanel = null;
let field = null; // the field it types into
let writing = false; // true while the keyboard itself updates the field
// Fields the pinyin keys have typed letters into: a letter there is pinyin
// still waiting for its character (the keys make no other letters).
const typedPinyin = new WeakSet();

function destroyKeyboard() {
  if (keyboard) keyboard.destroy();
  keyboard = null;
  keyboardPanel = null;
  field = null;
}

function makeKeyboard(panel) {
  destroyKeyboard();
  const Keyboard = window.SimpleKeyboard.default;
  keyboard = new Keyboard(panel.querySelector(".simple-keyboard"), {
    display: DISPLAY,
    buttonTheme: BUTTON_THEME,
    layout: LAYOUTS.pinyin,
    // Keep the focus (and the caret) in the field while keys are tapped.
    preventMouseDownDefault: true,
    layoutCandidatesPageSize: window.innerWidth >= 1400 ? 12 : 8,
    onChange: (input) => writeToField(input),
    onKeyPress: (button) => onKeyPress(button),
  });
  keyboardPanel = panel;
  // A tap on the panel's free space must not take the focus from the field.
  panel.addEventListener("mousedown", (event) => event.preventDefault());
}

function useField(element) {
  const panel = element.closest("#screen")?.querySelector("[data-keyboard-panel]");
  if (!panel || !window.SimpleKeyboard) return;
  if (!keyboard || keyboardPanel !== panel) makeKeyboard(panel);
  const kind = element.dataset.keyboard;
  field = element;
  keyboard.candidateBox?.destroy();
  keyboard.setOptions({
    layout: LAYOUTS[kind],
    layoutName: "default",
    inputName: element.id,
    enableLayoutCandidates: kind === "pinyin",
    layoutCandidates: pinyinCandidates,
    newLineOnEnter: element.tagName === "TEXTAREA",
    maxLength: element.maxLength > 0 ? element.maxLength : 0,
  });
  keyboard.setInput(element.value, element.id);
  // The keyboard's caret belongs to the field it left: put it at this field's end,
  // so that ⌫ deletes here (after 完成 moved on from the receipt number, say).
  keyboard.setCaretPosition(element.value.length);
  panel.classList.remove("layout-pinyin", "layout-digits", "layout-code");
  panel.classList.add(`layout-${kind}`);
  panel.classList.toggle("no-candidates", kind !== "pinyin");
  panel.hidden = false;
  reveal(element);
}

// The panel takes the lower part of the screen and the screen's body gets
// shorter: scroll the field, and the messages under it, into what is left.
// When both do not fit, the field wins.
function reveal(element) {
  const scroller = element.closest(".screen-body");
  if (!scroller) return;
  const messages = element.closest(".field, form")?.querySelectorAll(".message") ?? [];
  const view = scroller.getBoundingClientRect();
  const margin = 16;
  const bottom = Math.max(...[element, ...messages].map((item) => item.getBoundingClientRect().bottom));
  if (bottom + margin > view.bottom) scroller.scrollTop += bottom + margin - view.bottom;
  const top = element.getBoundingClientRect().top;
  if (top - margin < view.top) scroller.scrollTop -= view.top - (top - margin);
}

// Show the candidates again for pinyin left before the caret (after the
// field was away, or after a 下一步 that waited for it).
function showCandidates() {
  if (!keyboard || !field || field.dataset.keyboard !== "pinyin") return;
  const { candidateKey, candidateValue } = keyboard.getInputCandidates(field.value);
  if (candidateKey && candidateValue) keyboard.showCandidatesBox(candidateKey, candidateValue, keyboard.keyboardDOM);
}

// Take the field back where it was: focused, caret at the end, candidates shown.
function refocus(element) {
  if (!element?.isConnected || element.disabled) return;
  element.focus();
  const end = element.value.length;
  try { element.setSelectionRange(end, end); } catch { /* no caret */ }
  if (keyboard && element === field) keyboard.setCaretPosition(end);
  showCandidates();
}

function writeToField(input) {
  if (!field) return;
  writing = true;
  field.value = input;
  const caret = keyboard.getCaretPosition();
  const at = caret === null ? input.length : caret;
  try { field.setSelectionRange(at, at); } catch { /* not all inputs have a caret */ }
  if (at === input.length) field.scrollTop = field.scrollHeight;
  field.dispatchEvent(new Event("input", { bubbles: true }));
  writing = false;
}

function onKeyPress(button) {
  if (field?.dataset.keyboard === "pinyin" && /^[a-z]$/.test(button)) typedPinyin.add(field);
  if (button === "{symbols}" || button === "{letters}") {
    keyboard.setOptions({ layoutName: button === "{symbols}" ? "symbols" : "default" });
  } else if (button === "{done}" || (button === "{enter}" && field && field.tagName !== "TEXTAREA")) {
    const next = field && field.dataset.nextField && document.getElementById(field.dataset.nextField);
    if (next && !next.disabled) {
      next.focus();
    } else {
      field?.blur();
      if (keyboardPanel && field?.tagName !== "TEXTAREA") keyboardPanel.hidden = true;
    }
  }
}

document.addEventListener("focusin", (event) => {
  const element = event.target.closest?.("[data-keyboard]");
  if (element) useField(element);
});

// Typed some other way (a test's fill(), a service keyboard): keep the
// on-screen keyboard's copy in step.
document.addEventListener("input", (event) => {
  const element = event.target;
  if (!writing && keyboard && element === field) keyboard.setInput(element.value, element.id);
  if (element.dataset?.counter) updateCounter(element);
  if (!pinyinLeft(element)) element.closest(".field, form")?.querySelector("[data-pinyin-message]")?.remove();
});

// ---------------------------------------------------------------- pinyin left over

const PINYIN_LEFT = "还有拼音没有选字，请点上面一排里要的字，或删掉拼音。";

function pinyinLeft(element) {
  return typedPinyin.has(element) && !element.disabled && /[a-z]/.test(element.value);
}

// 下一步 with letters still waiting for their characters: stay, and say why.
document.addEventListener("submit", (event) => {
  const waiting = [...event.target.querySelectorAll('[data-keyboard="pinyin"]')].find(pinyinLeft);
  if (!waiting) return;
  event.preventDefault();
  event.stopImmediatePropagation();
  const place = waiting.closest(".field") || waiting.parentElement;
  if (!place.querySelector("[data-pinyin-message]")) {
    const message = Object.assign(document.createElement("p"), { className: "message error", role: "alert" });
    message.dataset.pinyinMessage = "";
    message.append(Object.assign(document.createElement("span"), { className: "sign", textContent: "!" }), ` ${PINYIN_LEFT}`);
    message.firstChild.setAttribute("aria-hidden", "true");
    waiting.after(message);
  }
  refocus(waiting);
  reveal(waiting);
}, true);

// ---------------------------------------------------------------- counter

function updateCounter(textarea) {
  const counter = document.getElementById(textarea.dataset.counter);
  if (!counter) return;
  // Characters, not UTF-16 units; pinyin letters are not characters yet.
  const text = typedPinyin.has(textarea) ? textarea.value.replace(/[a-z]/g, "") : textarea.value;
  const count = [...text.trim()].length;
  const min = Number(counter.dataset.min);
  const max = Number(counter.dataset.max);
  counter.querySelector("[data-count]").textContent = count;
  counter.classList.toggle("short", count > 0 && count < min);
  counter.classList.toggle("over", count > max);
  const note = counter.querySelector("[data-counter-note]");
  if (count > max) note.textContent = `：超出 ${count - max} 字，请删减。`;
  else if (count > 0 && count < min) note.textContent = `：还差 ${min - count} 字。`;
  else note.textContent = "";
}

// ---------------------------------------------------------------- contact step

function showConsent(screen) {
  const box = screen.querySelector("[data-consent-box]");
  const anonymous = screen.querySelector("[data-anonymous-choice]");
  if (!box || !anonymous) return;
  const consent = box.querySelector('input[name="consent"]').checked;
  box.classList.toggle("chosen", consent);
  box.querySelectorAll("[data-keyboard]").forEach((input) => { input.disabled = !consent; });
  anonymous.classList.toggle("chosen", !consent);
  anonymous.setAttribute("aria-pressed", String(!consent));
  anonymous.querySelector("[data-chosen-badge]").hidden = consent;
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

function forgetContact(screen) {
  screen.querySelectorAll("[data-consent-box] [data-keyboard]").forEach((input) => {
    input.value = "";
    if (keyboard) keyboard.clearInput(input.id);
    if (input === field) {
      input.blur();
      if (keyboardPanel) keyboardPanel.hidden = true;
    }
  });
}

// ---------------------------------------------------------------- idle

const IDLE_MS = Number(settings.idleSeconds) * 1000;
const COUNTDOWN_MS = Number(settings.countdownSeconds) * 1000;
const overlay = document.getElementById("idle");
let lastTouch = Date.now();
let countdownEnds = null;
let wiping = false;
let focusedBeforeCountdown = null; // the field to give back after "我还要继续"

function touched(event) {
  lastTouch = Date.now();
  if (countdownEnds === null || wiping) return;
  countdownEnds = null;
  if (event.type === "pointerdown" || event.type === "touchstart") {
    // Hide the overlay only once the tap is over, so the tap that cancels
    // the countdown does not also land on the button underneath.
    overlay.addEventListener("click", hideOverlay, { once: true });
    setTimeout(hideOverlay, 800);
  } else {
    hideOverlay();
  }
}

function hideOverlay() {
  if (countdownEnds !== null || wiping || overlay.hidden) return;
  overlay.hidden = true;
  refocus(focusedBeforeCountdown);
  focusedBeforeCountdown = null;
}

function showSecondsLeft(seconds) {
  overlay.querySelectorAll("[data-idle-seconds-left]").forEach((place) => { place.textContent = seconds; });
}

for (const type of ["pointerdown", "touchstart", "keydown", "input"]) {
  document.addEventListener(type, touched, { capture: true, passive: true });
}

function csrfToken() {
  try {
    return JSON.parse(body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch {
    return "";
  }
}

async function wipe() {
  wiping = true;
  // Blank the page first: whatever happens next, nothing typed stays on view.
  destroyKeyboard();
  document.getElementById("screen")?.replaceChildren();
  overlay.querySelector(".idle-box").replaceChildren(
    Object.assign(document.createElement("p"), { className: "idle-title", textContent: "正在返回首页……" }),
  );
  try { localStorage.clear(); sessionStorage.clear(); } catch { /* storage may be disabled */ }
  // Then make the server forget the draft, retrying while it cannot answer.
  for (;;) {
    try {
      const response = await fetch(settings.idleUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
        credentials: "same-origin",
        cache: "no-store",
        signal: AbortSignal.timeout(5000),
      });
      // A refusal (an expired page, say) will not change by asking again;
      // the server wipes drafts left behind on its own.
      if (response.ok || (response.status >= 400 && response.status < 500)) break;
    } catch { /* the server may be restarting */ }
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
  // A fresh home page, replacing this one: no history entry is left behind.
  location.replace(settings.homeUrl);
}

setInterval(() => {
  if (wiping || !overlay) return;
  const screen = document.getElementById("screen");
  if (!screen || screen.dataset.idle !== "on") {
    lastTouch = Date.now(); // the home screen holds nothing to wipe
    return;
  }
  const now = Date.now();
  if (countdownEnds === null) {
    if (now - lastTouch >= IDLE_MS) {
      countdownEnds = now + COUNTDOWN_MS;
      showSecondsLeft(Math.ceil(COUNTDOWN_MS / 1000));
      // After the receipt nothing is lost: the overlay says so, as a bar
      // that leaves the number, the 验证码 and the QR code in view.
      const saved = screen.dataset.idleNote === "saved";
      overlay.classList.toggle("idle-saved", saved);
      overlay.querySelectorAll("[data-idle-note]").forEach((note) => {
        note.hidden = note.dataset.idleNote !== (saved ? "saved" : "draft");
      });
      const active = document.activeElement;
      focusedBeforeCountdown = active?.matches?.("[data-keyboard]") ? active : null;
      overlay.hidden = false;
    }
    return;
  }
  const left = Math.max(0, Math.ceil((countdownEnds - now) / 1000));
  showSecondsLeft(left);
  if (left === 0) wipe();
}, 200);

// ---------------------------------------------------------------- taps that come too soon

// A new screen arrives under the finger, and a button on it may sit where
// the one just tapped was: the second tap of a double tap must do nothing.
// While a request is on its way, and for a moment after its answer is
// shown, the screen takes no taps (body.taps-held, see kiosk.css). The
// keyboard is left out, since typing goes on at full speed, except for a
// tap on the very spot of the tap that asked for the new screen.
// Long enough for the second tap of an unsure hand, a second after the first
// (the TAP_SETTLE_MS setting).
const SETTLE_MS = Number(document.body.dataset.tapSettleMs);
const LONGEST_HOLD_MS = 8000; // a request that hangs must not freeze the screen
const BOUNCE_PX = 60;
let requestsOnTheWay = 0;
let heldUntil = 0;
let holdTimer = null;
let lastTap = null;
let askingTap = null;

function holdTaps(ms) {
  heldUntil = Date.now() + ms;
  body.classList.add("taps-held");
  clearTimeout(holdTimer);
  holdTimer = setTimeout(() => {
    requestsOnTheWay = 0;
    body.classList.remove("taps-held");
  }, ms);
}

function screenRequest(detail) {
  const id = detail.target?.id;
  return id === "screen" || id === "lookup-result";
}

document.addEventListener("htmx:beforeRequest", (event) => {
  if (!screenRequest(event.detail)) return;
  requestsOnTheWay += 1;
  askingTap = lastTap;
  holdTaps(LONGEST_HOLD_MS);
});

document.addEventListener("htmx:afterRequest", (event) => {
  if (!screenRequest(event.detail)) return;
  requestsOnTheWay = Math.max(0, requestsOnTheWay - 1);
  if (requestsOnTheWay === 0) holdTaps(SETTLE_MS);
});

// Only the first tap after the one that asked can be its bounce.
function bounce(event) {
  if (!askingTap || Date.now() >= heldUntil) return false;
  if (!event.target.closest?.("[data-keyboard-panel]")) return false;
  return Math.hypot(event.clientX - askingTap.x, event.clientY - askingTap.y) < BOUNCE_PX;
}

let bounced = false;
window.addEventListener("pointerdown", (event) => {
  bounced = bounce(event);
  askingTap = null;
  if (bounced) {
    event.preventDefault();
    event.stopImmediatePropagation();
  } else {
    lastTap = { x: event.clientX, y: event.clientY };
  }
}, true);

// The candidates answer to the click that follows.
window.addEventListener("click", (event) => {
  if (!bounced) return;
  bounced = false;
  event.preventDefault();
  event.stopImmediatePropagation();
}, true);

// ---------------------------------------------------------------- start over

// Once something is typed or chosen, 重新开始 asks once before it wipes.
function somethingGiven(screen) {
  if (screen.querySelector("[data-restart][data-answers-given]")) return true;
  return [...screen.querySelectorAll("[data-keyboard]")].some((input) => input.value.trim() !== "")
    || Boolean(screen.querySelector('[data-consent-box] input[name="consent"]:checked'));
}

document.addEventListener("click", (event) => {
  const screen = event.target.closest?.("#screen");
  const confirm = screen?.querySelector("[data-restart-confirm]");
  if (!confirm) return;
  if (event.target.closest("[data-restart]")) {
    if (!somethingGiven(screen)) return;
    event.preventDefault();
    focusedBeforeCountdown = null;
    confirm.dataset.returnTo = document.activeElement?.id || "";
    confirm.hidden = false;
    holdTaps(SETTLE_MS); // the dialog, too, must not take the tap that opened it
  } else if (event.target.closest("[data-restart-cancel]")) {
    confirm.hidden = true;
    refocus(document.getElementById(confirm.dataset.returnTo));
  }
});

// ---------------------------------------------------------------- htmx

function setUp(root) {
  const screen = root.id === "screen" ? root : root.querySelector?.("#screen");
  if (!screen) return;
  lastTouch = Date.now();
  showConsent(screen);
  screen.querySelectorAll("[data-counter]").forEach(updateCounter);
  const first = screen.querySelector("[data-autofocus]");
  if (first && document.activeElement !== first) {
    first.focus();
    const end = first.value.length;
    try { first.setSelectionRange(end, end); } catch { /* no caret */ }
  }
}

document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail;
  // A print-status poll that fails must not replace the receipt screen.
  if (detail.xhr.status >= 400 && detail.requestConfig?.elt?.closest?.("[data-testid=print-status]")) {
    detail.shouldSwap = false;
    return;
  }
  // An error page replaces the whole screen, wherever the request came from.
  if (detail.xhr.status >= 400) {
    detail.target = document.getElementById("screen") || detail.target;
    detail.swapOverride = "outerHTML";
  }
  if (detail.target?.id === "screen") destroyKeyboard();
});

// A look-up result is what the person came for: put the keypad away so it shows whole.
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target?.id !== "lookup-result") return;
  field?.blur();
  if (keyboardPanel) keyboardPanel.hidden = true;
});

document.addEventListener("htmx:sendError", () => showProblem("网络连接有问题，请再点一次。"));
document.addEventListener("htmx:timeout", () => showProblem("网络连接有问题，请再点一次。"));

function showProblem(text) {
  const problem = Object.assign(document.createElement("p"), { className: "toast", role: "alert", textContent: text });
  body.append(problem);
  setTimeout(() => problem.remove(), 6000);
}

// No long-press menus on a kiosk.
document.addEventListener("contextmenu", (event) => event.preventDefault());

if (window.htmx) window.htmx.onLoad(setUp);
else document.addEventListener("DOMContentLoaded", () => setUp(body));
