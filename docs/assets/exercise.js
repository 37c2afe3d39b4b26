// The mini project's answer boxes. Each `.exercise[data-step]` placeholder becomes a form; the
// step's solution (what follows it, up to the step's tick box) stays folded until the answer is
// right or the reader asks. Answers are checked with the rules hooks/macros.py inlines from
// snippets/mini-project/answers.json, evaluated exactly as doclab/lesson/answers.py does (see there).
// Without JavaScript nothing is folded. Loaded with `defer`, after lesson.js has set up progress.
(function () {
  "use strict";

  // A one-line answer box behaves as a text field (Enter checks, a pasted line break is dropped, as an
  // <input> drops it) and grows a row whenever its text wraps.
  function oneLine(input, form) {
    input.classList.add("exercise__input--line");
    input.setAttribute("enterkeyhint", "done");
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    window.addEventListener("resize", function () { fit(input); });
  }

  function fit(input) {
    input.style.height = "auto";
    input.style.height = input.scrollHeight + input.offsetHeight - input.clientHeight + "px";  // border-box: borders too
  }
  var STORE_PREFIX = "doclab-exercise:";
  var WHO = {shell: "the shell", client: "the client", daemon: "the daemon", registry: "the registry"};

  function load(key) {
    try { return JSON.parse(localStorage.getItem(key)) || {}; } catch (e) { return {}; }
  }

  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage off: answers last the visit */ }
  }

  // Text from the rules file with `code` spans, built as nodes (never parsed as HTML).
  function appendText(parent, text) {
    text.split("`").forEach(function (part, index) {
      if (!part) return;
      if (index % 2) {
        var code = document.createElement("code");
        code.textContent = part;
        parent.appendChild(code);
      } else {
        parent.appendChild(document.createTextNode(part));
      }
    });
    return parent;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    return text ? appendText(node, text) : node;
  }

  // What the solution is: the placeholder's next siblings up to the one holding the tick box
  // (inside a `data-step-card` when the page has step cards).
  function solutionOf(box, tick) {
    var items = [];
    for (var node = box.nextElementSibling; node; node = node.nextElementSibling) {
      if (tick && node.contains(tick)) return items;
      items.push(node);
    }
    return box.closest("[data-step-card]") ? items : [];
  }

  function hintOf(items) {
    return items.filter(function (node) {
      var summary = node.matches("details") && node.querySelector("summary");
      return summary && /hint/i.test(summary.textContent);
    })[0] || null;
  }

  // A captured output of the mistakes section, copied (without ids) into the feedback.
  function printedOutput(name, output) {
    var wrap = element("div", "exercise__printed");
    var who = element("p", "exercise__who");
    appendText(who.appendChild(document.createElement("strong")), output.title);
    who.appendChild(document.createTextNode(" — printed by " + WHO[output.printed_by] + ", exit code " + output.exit + ". "));
    var link = who.appendChild(element("a", null, "How it ran"));
    link.href = "#mistake-" + name;
    link.addEventListener("click", function () {
      var mistakes = document.querySelector("details.exercise-mistakes");
      if (mistakes) mistakes.open = true;
    });
    wrap.appendChild(who);
    var source = document.querySelector('.exercise-output[data-output="' + name + '"]');
    if (source) {
      Array.prototype.forEach.call(source.children, function (child) {
        var copy = child.cloneNode(true);
        copy.removeAttribute("id");
        copy.querySelectorAll("[id]").forEach(function (node) { node.removeAttribute("id"); });
        wrap.appendChild(copy);
      });
    }
    wrap.appendChild(element("p", null, output.explanation));
    return wrap;
  }

  function setupStep(box, rules, store, storeKey) {
    var step = box.dataset.step;
    var spec = rules.steps[step];
    if (!spec) return null;
    var tick = document.querySelector('input[type="checkbox"][data-step="' + step + '"]');
    var solution = solutionOf(box, tick);
    var hint = hintOf(solution);
    var state = store[step] = store[step] || {answers: {}};

    box.appendChild(element("p", "exercise__prompt", spec.prompt));
    var form = box.appendChild(element("form", "exercise__form"));
    form.noValidate = true;
    var inputs = {};
    spec.fields.forEach(function (field) {
      var id = "exercise-" + step + "-" + field.name;
      var label = form.appendChild(element("label", "exercise__label", field.label));
      label.htmlFor = id;
      // A textarea even for a one-line answer: on a phone it wraps, so the end of a command (its " .") stays in view.
      var input = form.appendChild(element("textarea", "exercise__input"));
      input.rows = field.lines;
      if (field.lines === 1) oneLine(input, form);
      input.id = id;
      input.name = field.name;
      input.setAttribute("autocomplete", "off");
      input.setAttribute("autocapitalize", "off");
      input.spellcheck = false;
      input.value = state.answers[field.name] || "";
      if (field.lines === 1) window.requestAnimationFrame(function () { fit(input); });
      input.addEventListener("input", function () {
        if (field.lines === 1 && /[\r\n]/.test(input.value)) input.value = input.value.replace(/[\r\n]+/g, "");
        if (field.lines === 1) fit(input);
        state.answers[field.name] = input.value;
        save(storeKey, store);
      });
      inputs[field.name] = input;
    });
    var actions = form.appendChild(element("div", "exercise__actions"));
    var check = actions.appendChild(element("button", "md-button md-button--primary", "Check"));
    check.type = "submit";
    var hintLink = null;
    if (hint) {
      // A button, not a link: Space opens the hint where a link's Space would scroll the page away from the focus.
      hintLink = actions.appendChild(element("button", "md-button exercise__hint", "Need a hint?"));
      hintLink.type = "button";
      hintLink.addEventListener("click", function () {
        hint.hidden = false;
        hint.open = true;
        var summary = hint.querySelector("summary");
        hint.scrollIntoView({block: "start"});  // lesson.css keeps it clear of the sticky progress header
        // The keyboard goes on from the hint, not from the button it no longer needs.
        if (summary) summary.focus({preventScroll: true});
      });
    }
    var show = actions.appendChild(element("button", "md-button exercise__show", "Show the solution"));
    show.type = "button";
    var status = box.appendChild(element("p", "exercise__status"));
    status.setAttribute("role", "status");
    var results = box.appendChild(element("div", "exercise__results"));

    function fold() {
      solution.forEach(function (node) { node.setAttribute("data-exercise-fold", step); node.hidden = true; });
      show.hidden = solution.length === 0;
    }

    function reveal() {
      solution.forEach(function (node) { node.hidden = false; });
      show.hidden = true;
      state.revealed = true;
      save(storeKey, store);
    }

    function render(outcome, ticking) {
      results.textContent = "";
      var right = outcome.filter(function (r) { return r.verdict === "right"; }).length;
      if (hintLink) hintLink.hidden = right === outcome.length;  // solved: no hint to offer
      var unticked = tick && !tick.checked && !ticking;  // right, but the reader took the tick back
      status.textContent = right === outcome.length
        ? (unticked ? "Your answer is right; step " + step + " is not ticked as done." : "Right — step " + step + " is done.")
        : outcome.every(function (r) { return r.verdict === "empty"; }) ? "Write your answer in the box first."
        : outcome.length > 1 ? "Not yet: " + right + " of " + outcome.length + " right. See below."
        : "Not yet. See below.";
      outcome.forEach(function (result) {
        if (result.verdict === "empty") return;
        var item = results.appendChild(element("div", "exercise__result"));
        item.dataset.field = result.field.name;
        item.dataset.verdict = result.verdict;
        item.dataset.rule = result.rule ? result.rule.id : "";
        var line = item.appendChild(element("p"));
        if (outcome.length > 1) appendText(line.appendChild(element("strong")), result.field.label + ": ");
        var text = result.rule ? (result.rule.why || result.rule.explanation) : result.field.otherwise;
        appendText(line, (result.verdict === "right" ? "Right. " : "") + text);
        if (result.rule && result.rule.output) item.appendChild(printedOutput(result.rule.output, rules.outputs[result.rule.output]));
      });
      return right === outcome.length;
    }

    function evaluate() {
      return spec.fields.map(function (field) { return window.DoclabLogic.checkField(field, inputs[field.name].value); });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      state.checked = true;
      save(storeKey, store);
      var right = render(evaluate(), true);
      if (!right && state.ticked && tick && tick.checked) {
        // Ticked by an earlier right answer, now answered wrong: the progress follows the box again.
        tick.checked = false;
        tick.dispatchEvent(new Event("change", {bubbles: true}));
      }
      state.ticked = right;
      save(storeKey, store);
      if (!right) return;
      if (tick && !tick.checked) {
        tick.checked = true;
        tick.dispatchEvent(new Event("change", {bubbles: true}));  // lesson.js stores the progress
      }
      reveal();
    });
    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    show.addEventListener("click", function () {
      reveal();
      if (!solution.length) return;
      solution[0].setAttribute("tabindex", "-1");  // the button is gone: the keyboard goes on from the solution
      solution[0].focus();
    });
    if (tick) tick.addEventListener("change", function () {
      if (tick.checked) reveal();
      if (state.checked) render(evaluate(), tick.checked);
      if (!tick.checked && state.ticked) {
        state.ticked = false;
        save(storeKey, store);
      }
    });

    if (state.checked) render(evaluate());
    if (state.revealed || (tick && tick.checked)) show.hidden = true; else fold();

    return {
      name: step,
      reset: function () {
        store[step] = state = {answers: {}};
        Object.keys(inputs).forEach(function (name) { inputs[name].value = ""; });
        status.textContent = "";
        results.textContent = "";
        if (hint) hint.open = false;
        fold();
      },
      restore: function (saved) {  // Undo of Reset: the answers, their verdicts and the opened solution come back
        store[step] = state = saved || {answers: {}};
        Object.keys(inputs).forEach(function (name) {
          inputs[name].value = state.answers[name] || "";
          if (inputs[name].classList.contains("exercise__input--line")) fit(inputs[name]);
        });
        if (state.checked) render(evaluate());
        if (state.revealed || (tick && tick.checked)) reveal();
      },
      holds: function (target) {
        return solution.some(function (node) { return node.hidden && node.contains(target); });
      },
      reveal: reveal,
    };
  }

  // A hint written in steps (paragraphs marked .hint-step: a nudge, where to look, the answer) shows one at a time.
  function stepHint(hint) {
    var parts = Array.prototype.slice.call(hint.querySelectorAll(".hint-step"));
    if (parts.length < 2) return;
    var next = element("button", "md-button exercise__next-hint");
    next.type = "button";
    parts[parts.length - 1].parentNode.appendChild(next);
    var shown = 1;

    function update() {
      parts.forEach(function (part, index) { part.hidden = index >= shown; });
      next.hidden = shown >= parts.length;
      next.textContent = shown === parts.length - 1 ? "Show the answer" : "Another hint (" + (shown + 1) + " of " + parts.length + ")";
    }
    next.addEventListener("click", function () {
      shown++;
      update();
      var part = parts[shown - 1];
      part.setAttribute("tabindex", "-1");  // the keyboard goes on from what just opened
      part.focus();
    });
    hint.addEventListener("toggle", function () { if (!hint.open) { shown = 1; update(); } });
    update();
  }

  // A link to something folded (a heading of a solution, a mistake) opens what hides it.
  function showTarget(steps) {
    var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!target) return;
    // The browser could not scroll to it while it was hidden: once shown, it is brought into view.
    var folded = steps.filter(function (step) { return step.holds(target); });
    folded.forEach(function (step) { step.reveal(); });
    var mistakes = target.closest("details.exercise-mistakes");
    if (mistakes && !mistakes.open) mistakes.open = true;
    else mistakes = null;
    if (folded.length || mistakes) target.scrollIntoView();
  }

  function setup() {
    document.querySelectorAll("details").forEach(stepHint);
    var data = document.getElementById("exercise-rules");
    if (!data) return;
    var rules = JSON.parse(data.textContent);
    var storeKey = STORE_PREFIX + rules.lesson;
    var store = load(storeKey);
    var steps = [];
    document.querySelectorAll(".exercise[data-step]").forEach(function (box) {
      var step = setupStep(box, rules, store, storeKey);
      if (step) steps.push(step);
    });
    var reset = document.querySelector(".lesson-progress__reset");
    var undo = document.querySelector(".lesson-progress__undo");
    var before = null;
    if (reset) {
      reset.addEventListener("click", function () {
        before = JSON.parse(JSON.stringify(store));
        steps.forEach(function (step) { step.reset(); });
        save(storeKey, store);
      });
    }
    if (undo) {
      undo.addEventListener("click", function () {  // after lesson.js has put the ticks back (its listener came first)
        if (!before) return;
        steps.forEach(function (step) { step.restore(before[step.name]); });
        save(storeKey, store);
        before = null;
      });
    }
    showTarget(steps);
    window.addEventListener("hashchange", function () { showTarget(steps); });
  }

  // Deferred scripts run before DOMContentLoaded: waiting for it lets lesson.js tick the boxes first.
  if (document.readyState === "complete") setup();
  else document.addEventListener("DOMContentLoaded", setup);
})();
