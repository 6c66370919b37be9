// Handwriting: the 手写 key beside 拼音 swaps the on-screen keys for a pad.
// A finger writes one character; after each stroke the station answers the
// likeliest characters (POST to the panel's data-recognise-url), shown
// beside the pad to tap. A chosen character goes in at the caret and the top
// row offers the words that may follow (联想, data-associated-url): a word
// there takes the place of the characters it starts with, so a character
// the recogniser lacks (榃 of 榃滨镇) is one tap away.
//
// Strokes are points in the pad's CSS pixels, y down, as the station reads
// them. Nothing is kept: the pad, its candidates and 联想 are cleared with
// the screen.

const MIN_STEP = 3; // px: closer points add nothing but weight
const CONTEXT = 8; // characters before the caret sent for ranking

let field = null; // the pinyin field last focused: where characters go
const pads = new WeakMap(); // panel → its pad state

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  } catch {
    return "";
  }
}

async function ask(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.message || "网络连接有问题，请再写一次。");
  return answer;
}

function textBeforeCaret() {
  if (!field) return "";
  const at = field.selectionStart ?? field.value.length;
  return field.value.slice(0, at);
}

// Put ``text`` in the field in place of the ``replaces`` characters before the caret.
function insert(text, replaces = 0) {
  if (!field) return;
  const end = field.selectionEnd ?? field.value.length;
  const start = Math.max(0, (field.selectionStart ?? end) - replaces);
  const room = field.maxLength > 0 ? field.maxLength - (field.value.length - (end - start)) : Infinity;
  if (text.length > room) return;
  field.setRangeText(text, start, end, "end");
  field.dispatchEvent(new Event("input", { bubbles: true }));
}

function deleteBeforeCaret() {
  if (!field) return;
  const end = field.selectionEnd ?? field.value.length;
  const start = field.selectionStart === end ? Math.max(0, end - 1) : field.selectionStart;
  if (start === end) return;
  field.setRangeText("", start, end, "end");
  field.dispatchEvent(new Event("input", { bubbles: true }));
}

// A tap acts when the finger lifts on the key. Right after a stroke on the
// pad the browser may take a tap for the end of a gesture and send no
// click: the click is only for a mouse or the keyboard, and one that
// follows a tap already acted on does nothing.
function onTap(element, action) {
  let tappedAt = -Infinity;
  element.addEventListener("pointerup", (event) => {
    if (event.pointerType === "mouse") return;
    const box = element.getBoundingClientRect();
    const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) return;
    tappedAt = event.timeStamp;
    action();
  });
  element.addEventListener("click", (event) => {
    if (event.timeStamp - tappedAt < 1000) return;
    action();
  });
}

function button(text, testid, action) {
  const element = Object.assign(document.createElement("button"), { type: "button", textContent: text });
  element.dataset.testid = testid;
  onTap(element, action);
  return element;
}

class Pad {
  constructor(panel) {
    this.panel = panel;
    this.root = panel.querySelector("[data-handwriting]");
    this.canvas = this.root.querySelector("[data-handwriting-pad]");
    this.candidates = this.root.querySelector("[data-handwriting-candidates]");
    this.associated = this.root.querySelector("[data-associated]");
    this.hint = this.root.querySelector("[data-associated-hint]");
    this.message = this.root.querySelector("[data-handwriting-message]");
    this.strokes = [];
    this.stroke = null;
    this.asked = 0; // the latest request's number: older answers are dropped
    this.canvas.addEventListener("pointerdown", (event) => this.down(event));
    this.canvas.addEventListener("pointermove", (event) => this.move(event));
    this.canvas.addEventListener("pointerup", (event) => this.up(event));
    this.canvas.addEventListener("pointercancel", (event) => this.up(event));
    onTap(this.root.querySelector("[data-handwriting-clear]"), () => this.clear());
    onTap(this.root.querySelector("[data-handwriting-delete]"), () => {
      if (this.strokes.length) this.clear();
      else deleteBeforeCaret();
    });
    this.root.querySelectorAll("[data-handwriting-insert]").forEach((key) =>
      onTap(key, () => {
        this.clear();
        insert(key.dataset.handwritingInsert);
        this.showAssociated([]);
      }));
  }

  fit() {
    const box = this.canvas.getBoundingClientRect();
    const scale = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(box.width * scale);
    this.canvas.height = Math.round(box.height * scale);
    const pen = this.canvas.getContext("2d");
    pen.setTransform(scale, 0, 0, scale, 0, 0);
    this.redraw();
  }

  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return [Math.round(event.clientX - box.left), Math.round(event.clientY - box.top)];
  }

  down(event) {
    event.preventDefault();
    this.canvas.setPointerCapture?.(event.pointerId);
    if (!this.strokes.length) this.showAssociated([]);
    this.stroke = [this.point(event)];
    this.strokes.push(this.stroke);
    this.redraw();
  }

  move(event) {
    if (!this.stroke) return;
    event.preventDefault();
    // A busy screen hands over one move per frame: the points between are
    // in its coalesced events, and a corner may be among them.
    const moves = event.getCoalescedEvents?.() || [];
    for (const move of moves.length ? moves : [event]) {
      const [x, y] = this.point(move);
      const [lastX, lastY] = this.stroke[this.stroke.length - 1];
      if (Math.hypot(x - lastX, y - lastY) >= MIN_STEP) this.stroke.push([x, y]);
    }
    this.redraw();
  }

  up(event) {
    if (!this.stroke) return;
    event.preventDefault();
    const end = this.point(event);
    const last = this.stroke[this.stroke.length - 1];
    if (end[0] !== last[0] || end[1] !== last[1]) this.stroke.push(end);
    this.stroke = null;
    this.recognise();
  }

  redraw() {
    const pen = this.canvas.getContext("2d");
    const { width, height } = this.canvas.getBoundingClientRect();
    pen.clearRect(0, 0, width, height);
    pen.lineWidth = 10;
    pen.lineCap = "round";
    pen.lineJoin = "round";
    pen.strokeStyle = "#1b1b1b";
    for (const stroke of this.strokes) {
      pen.beginPath();
      pen.moveTo(...stroke[0]);
      for (const point of stroke.slice(1)) pen.lineTo(...point);
      if (stroke.length === 1) pen.lineTo(stroke[0][0] + 0.1, stroke[0][1]);
      pen.stroke();
    }
  }

  async recognise() {
    const number = ++this.asked;
    const strokes = this.strokes.length;
    // Busy until the answer for every stroke so far is shown.
    this.candidates.setAttribute("aria-busy", "true");
    const { width, height } = this.canvas.getBoundingClientRect();
    try {
      const answer = await ask(this.root.dataset.recogniseUrl, {
        width: Math.round(width), height: Math.round(height), strokes: this.strokes,
        context: textBeforeCaret().slice(-CONTEXT),
      });
      if (number === this.asked) this.showCandidates(answer.candidates || [], strokes);
    } catch (error) {
      if (number === this.asked) {
        this.candidates.setAttribute("aria-busy", "false");
        this.say(error.message);
      }
    }
  }

  showCandidates(characters, strokes) {
    this.say("");
    this.candidates.setAttribute("aria-busy", "false");
    this.candidates.dataset.strokes = String(strokes); // the strokes these candidates are for
    this.candidates.replaceChildren(...characters.map((ch, n) =>
      button(ch, `handwriting-candidate-${n}`, () => this.choose(ch))));
  }

  choose(ch) {
    this.clear();
    insert(ch);
    this.associate();
  }

  async associate() {
    const number = ++this.asked;
    try {
      const answer = await ask(this.root.dataset.associatedUrl, { text: textBeforeCaret().slice(-CONTEXT) });
      if (number === this.asked) this.showAssociated(answer.words || []);
    } catch (error) {
      if (number === this.asked) this.say(error.message);
    }
  }

  showAssociated(words) {
    this.hint.hidden = words.length > 0;
    this.associated.replaceChildren(this.hint, ...words.map(({ word, replaces }, n) =>
      button(word, `associated-${n}`, () => {
        insert(word, replaces);
        this.associate();
      })));
  }

  clear() {
    this.asked++;
    this.candidates.setAttribute("aria-busy", "false");
    this.candidates.dataset.strokes = "0";
    this.strokes = [];
    this.stroke = null;
    this.candidates.replaceChildren();
    this.say("");
    this.redraw();
  }

  say(text) {
    this.message.textContent = text;
  }
}

function padOf(panel) {
  if (!pads.has(panel)) pads.set(panel, new Pad(panel));
  return pads.get(panel);
}

// 拼音 or 手写: the panel shows the keys or the pad.
function useMethod(panel, method) {
  const byHand = method === "handwriting";
  panel.classList.toggle("writing-by-hand", byHand);
  panel.querySelectorAll("[data-ime]").forEach((key) => key.setAttribute("aria-pressed", String(key.dataset.ime === method)));
  if (byHand) {
    const pad = padOf(panel);
    pad.clear();
    pad.showAssociated([]);
    pad.fit();
  }
}

// The 拼音 and 手写 keys come with each screen's panel: one listener for all,
// acting on a tap as the pad's keys do (onTap).
let switchedAt = -Infinity;
function switchMethod(event) {
  const key = event.target.closest?.("[data-ime]");
  const panel = key?.closest("[data-keyboard-panel]");
  if (!panel) return;
  if (event.type === "pointerup") {
    if (event.pointerType === "mouse") return;
    switchedAt = event.timeStamp;
  } else if (event.timeStamp - switchedAt < 1000) {
    return;
  }
  useMethod(panel, key.dataset.ime);
}
document.addEventListener("pointerup", switchMethod);
document.addEventListener("click", switchMethod);

document.addEventListener("focusin", (event) => {
  const element = event.target.closest?.('[data-keyboard="pinyin"]');
  if (element) field = element;
});

window.addEventListener("resize", () => {
  document.querySelectorAll("[data-keyboard-panel].writing-by-hand").forEach((panel) => padOf(panel).fit());
});
