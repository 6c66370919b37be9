// The on-screen keyboard (simple-keyboard): one per screen, typing into
// whichever field marked data-keyboard="pinyin|digits|code" has the focus.

const DISPLAY = {
  "{bksp}": "⌫ 删除",
  "{space}": "空格",
  "{enter}": "换行",
  "{symbols}": "符号",
  "{letters}": "拼音",
  "{done}": "完成",
  "'": "分隔",
};

const LAYOUTS = {
  // Letters in the usual pinyin order, digits, and Chinese punctuation.
  pinyin: {
    default: [
      "1 2 3 4 5 6 7 8 9 0 {bksp}",
      "q w e r t y u i o p",
      "a s d f g h j k l",
      "z x c v b n m '",
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
  { class: "key-action", buttons: "{bksp} {symbols} {letters} {enter} '" },
  { class: "key-space", buttons: "{space}" },
  { class: "key-done", buttons: "{done}" },
];

let keyboard = null; // the simple-keyboard of the current screen
let keyboardPanel = null;
let field = null; // the field it types into
let writing = false; // true while the keyboard itself updates the field
// Fields the pinyin keys have typed letters into: a letter there is pinyin
// still waiting for its character (the keys make no other letters).
const typedPinyin = new WeakSet();

export function hasTypedPinyin(element) {
  return typedPinyin.has(element);
}

export function destroyKeyboard() {
  if (keyboard) keyboard.destroy();
  keyboard = null;
  keyboardPanel = null;
  field = null;
}

// Put the keyboard away: the field loses the focus and the panel hides.
export function hideKeyboard() {
  field?.blur();
  if (keyboardPanel) keyboardPanel.hidden = true;
}

// Empty a field, and the keyboard's copy of it.
export function clearField(input) {
  input.value = "";
  if (keyboard) keyboard.clearInput(input.id);
  if (input === field) hideKeyboard();
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
  keyboard.setOptions({
    layout: LAYOUTS[kind],
    layoutName: "default",
    inputName: element.id,
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
export function reveal(element) {
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
// field was away, or after a 下一步 that waited for it): pinyin-candidates.js listens.
function showCandidates() {
  if (!keyboard || !field || field.dataset.keyboard !== "pinyin") return;
  field.dispatchEvent(new CustomEvent("pinyin-refresh", { bubbles: true }));
}

// The field being typed into, and where its caret is (the keyboard's).
export function currentField() {
  return field;
}

export function caretOf(element) {
  if (keyboard && element === field) {
    const caret = keyboard.getCaretPosition();
    if (caret !== null) return caret;
  }
  return element.value.length;
}

// Put ``text`` in place of characters start..end of the field (the pinyin a
// candidate replaces), caret after it, and tell the field's listeners.
export function replaceText(element, start, end, text) {
  const value = element.value.slice(0, start) + text + element.value.slice(end);
  const caret = start + text.length;
  if (keyboard && element === field) {
    keyboard.setInput(value, element.id);
    keyboard.setCaretPosition(caret);
    writeToField(value);
  } else {
    element.value = value;
    element.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

// Take the field back where it was: focused, caret at the end, candidates shown.
export function refocus(element) {
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
  if (field?.dataset.keyboard === "pinyin" && /^[a-z']$/.test(button)) typedPinyin.add(field);
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
});
