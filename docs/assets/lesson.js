// The learner's side of the site: step progress (kept in localStorage), the landing page's
// summary, the "copy all steps as one script" button, and outputs annotated line by
// line from their walk-through tables.
(function () {
  "use strict";
  var PREFIX = "doclab-progress:";

  function load(key, fallback) {
    try { var value = JSON.parse(localStorage.getItem(key)); return value === null ? fallback : value; } catch (e) { return fallback; }
  }

  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage off: progress lasts the visit */ }
  }

  // Progress: the ticked steps are kept as a sorted array of step numbers (strings) under
  // "doclab-progress:<lesson>"; the cards, the table of contents and the completion card follow it.
  function setupProgress() {
    var panel = document.querySelector(".lesson-progress");
    if (!panel) return;
    var key = PREFIX + panel.dataset.lesson;
    var total = Number(panel.dataset.total);
    var boxes = document.querySelectorAll(".lesson-step input[data-step]");
    var label = panel.querySelector(".lesson-progress__label");
    var bar = panel.querySelector(".lesson-progress__bar");
    var next = panel.querySelector(".lesson-progress__next");
    var complete = document.querySelector(".lesson-complete");

    function heading(step) {
      var card = document.querySelector("[data-step-card='" + step + "']");
      return card && card.querySelector("h2[id]");
    }

    function show() {
      var done = load(key, []);
      var firstOpen = null;
      boxes.forEach(function (box) {
        var step = box.dataset.step, ticked = done.indexOf(step) >= 0, title = heading(step);
        box.checked = ticked;
        var card = box.closest("[data-step-card]");
        if (card) card.classList.toggle("step-card--done", ticked);
        if (title) {
          document.querySelectorAll(".md-nav a.md-nav__link[href='#" + title.id + "']").forEach(function (link) {
            link.classList.toggle("lesson-toc--done", ticked);
            link.setAttribute("aria-label", link.textContent.trim() + (ticked ? " (done)" : ""));
          });
        }
        if (!ticked && firstOpen === null) firstOpen = step;
      });
      label.textContent = done.length + " / " + total + " steps";
      bar.value = done.length;
      if (next) {
        var target = firstOpen === null ? null : heading(firstOpen);
        next.hidden = !target && !complete;
        next.textContent = target ? "Next: step " + firstOpen : "All done: what next?";
        next.href = target ? "#" + target.id : "#lesson-complete";
      }
      if (complete) complete.hidden = done.length < total;
    }

    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        var done = load(key, []).filter(function (step) { return step !== box.dataset.step; });
        if (box.checked) done.push(box.dataset.step);
        save(key, done.sort());
        show();
        if (complete && !complete.hidden && box.checked) complete.scrollIntoView({block: "nearest"});
      });
    });
    // Reset clears every tick at once: Undo (shown, and focused, until the next tick) puts them back.
    var reset = panel.querySelector(".lesson-progress__reset");
    var undo = panel.querySelector(".lesson-progress__undo");
    var cleared = null;
    reset.addEventListener("click", function () {
      var done = load(key, []);  // even with no tick: Reset also clears the typed answers (exercise.js), Undo keeps them
      cleared = done;
      save(key, []);
      show();
      reset.hidden = true;  // Undo takes Reset's place: the header keeps one row on a phone
      undo.hidden = false;
      undo.focus();
    });
    undo.addEventListener("click", function () {
      if (cleared) save(key, cleared);
      cleared = null;
      undo.hidden = true;
      reset.hidden = false;
      show();
      reset.focus();
    });
    boxes.forEach(function (box) {
      box.addEventListener("change", function () { cleared = null; undo.hidden = true; reset.hidden = false; });
    });
    show();
  }

  // The quiz answers a question as soon as an option is chosen (mkdocs-quiz's auto-submit), and arrow keys
  // choose the next radio: so on a quiz they move the focus only, and Space or Enter answers.
  function setupQuizKeys() {
    var STEP = {ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1};
    document.addEventListener("keydown", function (event) {
      var radio = event.target;
      if (!(radio instanceof HTMLInputElement) || radio.type !== "radio" || !radio.closest("div.quiz")) return;
      if (event.key === "Enter") {
        event.preventDefault();
        if (!radio.checked) radio.click();
        return;
      }
      if (!(event.key in STEP)) return;
      event.preventDefault();
      var options = Array.prototype.slice.call(radio.form.querySelectorAll("input[type='radio']:not(:disabled)"));
      options[(options.indexOf(radio) + STEP[event.key] + options.length) % options.length].focus();
    }, true);
    // Answered, the question's options are disabled and the focus would fall to the page: it goes to the feedback.
    document.addEventListener("change", function (event) {
      var radio = event.target;
      if (!(radio instanceof HTMLInputElement) || radio.type !== "radio" || !radio.closest("div.quiz")) return;
      var feedback = radio.closest("div.quiz").querySelector(".quiz-feedback");
      window.setTimeout(function () {
        if (!feedback || !(document.activeElement === document.body || document.activeElement.disabled)) return;
        feedback.tabIndex = -1;
        feedback.focus();
      }, 0);
    });
  }

  // Landing page: steps ticked in the mini project and the quiz score (stored by mkdocs-quiz).
  function setupSummary() {
    var summary = document.querySelector(".learning-summary");
    if (!summary) return;
    var steps = load(PREFIX + summary.dataset.lesson, []).length;
    var quizLink = document.querySelector("a[data-quiz]");
    var quizPath = quizLink ? new URL(quizLink.href).pathname : "";
    var answers = load("quiz_progress_" + quizPath, {});
    var answered = 0, correct = 0;
    Object.keys(answers).forEach(function (id) {
      if (answers[id] && answers[id].answered) answered++;
      if (answers[id] && answers[id].correct) correct++;
    });
    summary.querySelector(".learning-summary__steps").textContent = steps + " / " + summary.dataset.total + " steps";
    summary.querySelector(".learning-summary__quiz").textContent =
      answered ? correct + " / " + summary.dataset.questions + " correct" : "not started";
  }

  // "Copy all steps": the clipboard where the browser offers it; otherwise the script is opened and
  // selected, and the button's status says how to copy it (or download it).
  function setupScriptCopy() {
    document.querySelectorAll(".doclab-script__copy").forEach(function (button) {
      var status = button.parentElement.querySelector(".doclab-script__status");
      button.addEventListener("click", function () {
        var details = button.closest(".doclab-script").nextElementSibling;
        var code = details && details.querySelector("code");
        if (!code) return;
        function selectIt() {
          details.open = true;
          var range = document.createRange();
          range.selectNodeContents(code);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          status.textContent = "Your browser does not let this page copy: the script below is selected — press Ctrl+C (⌘C on a Mac), or use the download link.";
        }
        if (!navigator.clipboard || !window.isSecureContext) { selectIt(); return; }
        navigator.clipboard.writeText(code.textContent).then(function () {
          status.textContent = "Copied: paste it into a shell in an empty folder.";
        }, selectIt);
      });
    });
  }

  // Annotated output: each line of a captured output that a walk-through table explains is tied to
  // its row. Hovering, tapping or focusing a line (then the arrow keys) shows the row's text under
  // the output and lights up the parts of Docker behind it, in the architecture diagram's colours.
  var PARTS = ["client", "daemon", "registry"];

  // The walk-through table of an output: the one whose first column quotes the most of its lines
  // (tables and outputs may sit apart, e.g. in two tab sets with the step's answer box between them).
  function walkthroughOf(block) {
    var lines = {};
    block.querySelectorAll(".doclab-out-line").forEach(function (line) { lines[line.textContent.trim()] = true; });
    var best = null, bestCount = 0;
    document.querySelectorAll(".md-typeset table").forEach(function (table) {
      var header = table.querySelector("th");
      if (!header || header.textContent.trim() !== "Line of the real output" || !table.tBodies[0]) return;
      var count = Array.prototype.filter.call(table.tBodies[0].rows, function (row) {
        return lines[row.cells[0].textContent.trim()];
      }).length;
      if (count === table.tBodies[0].rows.length && count > bestCount) { best = table; bestCount = count; }
    });
    return best;
  }

  function annotate(block) {
    var table = walkthroughOf(block);
    var code = block.querySelector("pre > code");
    if (!table || !code) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows), pairs = [], next = 0;
    code.querySelectorAll(".doclab-out-line").forEach(function (line) {
      var text = line.textContent.trim();
      if (!text || next >= rows.length || rows[next].cells[0].textContent.trim() !== text) return;
      var parts = rows[next].cells[1].textContent.split("→").map(function (part) { return part.trim(); })
        .filter(function (part) { return PARTS.indexOf(part) >= 0; });
      line.classList.add("doclab-line", "doclab-line--" + (parts[0] || "unknown"));
      if (parts[1]) line.classList.add("doclab-line--to-" + parts[1]);  // "daemon → registry": both colours, as the table
      pairs.push({line: line, row: rows[next], parts: parts, meaning: rows[next].cells[2].textContent.trim()});
      next++;
    });
    if (!pairs.length) return;
    var panel = document.createElement("div");
    panel.className = "doclab-explain";
    panel.innerHTML = '<div class="doclab-parts" aria-hidden="true">' + PARTS.map(function (part) {
      return '<span class="doclab-part doclab-part--' + part + '">' + part + "</span>";
    }).join("") + '</div><p class="doclab-explain__text" aria-live="polite"></p>';
    var text = panel.querySelector(".doclab-explain__text");
    var idle = "Point at, tap or focus a line of the output above (then use ↑ and ↓) to see which part of Docker is behind it.";
    text.textContent = idle;
    block.parentNode.insertBefore(panel, block.nextSibling);
    code.tabIndex = 0;
    code.setAttribute("aria-label", "Output: use the up and down arrow keys to explain it line by line");
    var current = -1;

    function show(index) {
      if (current >= 0) {
        pairs[current].line.classList.remove("doclab-line--active");
        pairs[current].row.classList.remove("doclab-row--active");
      }
      current = index;
      var pair = pairs[index];
      pair.line.classList.add("doclab-line--active");
      pair.row.classList.add("doclab-row--active");
      panel.querySelectorAll(".doclab-part").forEach(function (chip, at) {
        chip.classList.toggle("doclab-part--active", pair.parts.indexOf(PARTS[at]) >= 0);
      });
      text.innerHTML = "";
      var who = document.createElement("strong");
      who.textContent = pair.parts.join(" → ") + ": ";
      text.appendChild(who);
      text.appendChild(document.createTextNode(pair.meaning + " (line " + (index + 1) + " of " + pairs.length + ")"));
    }

    function lineAt(event) {
      var line = event.target.closest && event.target.closest(".doclab-line");
      for (var index = 0; line && index < pairs.length; index++) if (pairs[index].line === line) return index;
      return -1;
    }
    // Hover follows a mouse that really moves: neither a tap's compatibility events nor the page
    // scrolling under a resting pointer (while the arrow keys move) may take the line away.
    code.addEventListener("pointermove", function (event) {
      var index = lineAt(event);
      if (event.pointerType === "mouse" && (event.movementX || event.movementY) && index >= 0 && index !== current) show(index);
    });
    code.addEventListener("click", function (event) {
      var index = lineAt(event);
      if (index >= 0) show(index);
    });
    code.addEventListener("focus", function () { if (current < 0) show(0); });
    code.addEventListener("keydown", function (event) {
      var step = {ArrowDown: 1, ArrowUp: -1}[event.key];
      if (!step) return;
      event.preventDefault();
      show(Math.min(pairs.length - 1, Math.max(0, current + step)));
      // The panel sticks to the window's bottom: the line comes into view above it, never under it.
      pairs[current].line.style.scrollMarginBottom = panel.offsetHeight + 8 + "px";
      pairs[current].line.scrollIntoView({block: "nearest"});
    });
  }

  // Each line of an output in a span of its own (wrapped with a mark by lesson.css, annotated below);
  // done here rather than in the HTML, where a span a line would weigh on every page.
  function splitOutputLines(block) {
    var code = block.querySelector("pre > code");
    if (!code || code.querySelector(".doclab-out-line")) return;
    var lines = code.textContent.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    code.textContent = "";
    lines.forEach(function (text) {
      var line = code.appendChild(document.createElement("span"));
      line.className = text ? "doclab-out-line" : "doclab-out-line doclab-out-line--blank";
      shortenDigests(line, text + "\n");
    });
  }

  // A digest shows its first 12 hex digits and "…" (lesson.css): the rest stays in the text, so a copy, a search and
  // a focused or explained line (shown whole) have all 64.
  function shortenDigests(line, text) {
    text.split(/(sha256:[0-9a-f]{12})([0-9a-f]{52})/).forEach(function (part, index) {
      if (!part) return;
      if (index % 3 === 0) { line.appendChild(document.createTextNode(part)); return; }
      var span = line.appendChild(document.createElement("span"));
      span.className = index % 3 === 1 ? "doclab-digest" : "doclab-digest-rest";
      span.textContent = part;
    });
  }

  function setupAnnotations() {
    document.querySelectorAll(".doclab-output").forEach(splitOutputLines);
    document.querySelectorAll(".doclab-output[data-capture]").forEach(annotate);
  }

  // Compare your output: the reader's lines, cleaned up with doclab.run.scrub's own rules (the page carries
  // them, as the tests use them), labelled with the walk-through's rules and lined up with the captured output.
  // What to say and how each line compares is DoclabLogic.compareOutput's (doclab-logic.js, unit-tested in Node).
  function setupCompare() {
    var logic = window.DoclabLogic;
    var box = document.querySelector(".doclab-compare");
    var rulesData = document.getElementById("doclab-explain-rules");
    if (!box || !rulesData || !logic) return;
    var rules = logic.explainRules(JSON.parse(rulesData.textContent));
    var volatile = logic.volatileRules(JSON.parse(document.getElementById("doclab-volatile-rules").textContent));
    var builders = logic.builderRules(JSON.parse(document.getElementById("doclab-builder-rules").textContent));
    var captured = logic.references(box.dataset.captures.split(" ").map(function (id) {
      var code = document.querySelector(".doclab-output[data-capture='" + id + "'] code");
      return code ? [id, code.textContent] : null;
    }).filter(Boolean), volatile, builders);
    var input = box.querySelector("textarea");
    var result = box.querySelector(".doclab-compare__result");

    function element(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text) node.textContent = text;
      return node;
    }

    box.querySelector(".doclab-compare__run").addEventListener("click", function () {
      var compared = logic.compareOutput(input.value, captured, rules, volatile, builders);
      result.innerHTML = "";
      if (compared.empty) { result.appendChild(element("p", "", "Paste the output of your build first.")); return; }
      var findings = element("ul", "doclab-compare__findings");
      compared.findings.forEach(function (finding) {
        var item = element("li", "", finding.message);
        if (finding.anchor !== undefined) {
          var link = element("a", "", "See Troubleshooting.");
          link.href = box.dataset.troubleshooting + (finding.anchor ? "#" + finding.anchor : "");
          item.appendChild(document.createTextNode(" "));
          item.appendChild(link);
        }
        findings.appendChild(item);
      });
      var list = element("ol", "doclab-compare__lines");
      compared.lines.forEach(function (shown) {
        var item = element("li", "doclab-compare__line doclab-compare__line--" + shown.status);
        var part = shown.actors ? shown.actors[0] : "unknown";
        item.appendChild(element("span", "doclab-part doclab-part--active doclab-part--" + part, shown.actors ? shown.actors.join(" → ") : "?"));
        item.appendChild(element("code", "", shown.line));
        item.appendChild(element("span", "doclab-compare__status",
          shown.status === "same" ? "as captured" : shown.status === "progress" ? "progress line: varies from run to run" :
          compared.reference ? "not in the captured output" : "no captured output of this builder"));
        list.appendChild(item);
      });
      result.appendChild(findings);
      result.appendChild(list);
    });
  }

  // Material's search dialog has no accessible name; screen readers announce it as "Search".
  function nameSearchDialog() {
    var dialog = document.querySelector(".md-search[role='dialog']");
    if (dialog && !dialog.getAttribute("aria-label")) dialog.setAttribute("aria-label", "Search");
  }

  // A table wider than the screen scrolls sideways inside the theme's wrapper: a keyboard must be
  // able to reach it to scroll it, so a wrapper that does scroll joins the tab order, named.
  function focusableScrollers() {
    document.querySelectorAll(".md-typeset__scrollwrap, .doclab-output[data-terminal] pre > code").forEach(function (wrapper) {
      if (wrapper.scrollWidth > wrapper.clientWidth + 1) {
        wrapper.tabIndex = 0;
        wrapper.setAttribute("role", "region");
        wrapper.setAttribute("aria-label", wrapper.matches("code") ? "Terminal screen (scrolls sideways)" : "Table (scrolls sideways)");
      } else {
        wrapper.removeAttribute("tabindex");
        wrapper.removeAttribute("role");
        wrapper.removeAttribute("aria-label");
      }
    });
  }

  // Below 76.25em the theme's navigation is a drawer, off-screen while closed: its links must not take
  // the keyboard's Tab (a phone's keyboard user would tab through 25 invisible links first).
  // The theme's menu button is a label, out of the tab order: on a phone, the keyboard could not open the navigation.
  // In it, Enter opens it (the theme clicks a focused label on Enter), and Space as on any button.
  function menuButtonForTheKeyboard() {
    var toggle = document.getElementById("__drawer");
    document.querySelectorAll('label.md-header__button[for="__drawer"]').forEach(function (button) {
      button.tabIndex = 0;
      button.setAttribute("role", "button");
      if (!button.getAttribute("aria-label")) button.setAttribute("aria-label", "Navigation");
      button.addEventListener("keydown", function (event) {
        if (event.key !== " ") return;
        event.preventDefault();
        toggle.click();
      });
    });
  }

  function closedDrawerOutOfTabOrder() {
    var toggle = document.getElementById("__drawer");
    var drawer = document.querySelector(".md-sidebar--primary");
    if (!toggle || !drawer || !window.matchMedia) return;
    var narrow = window.matchMedia("(max-width: 76.2344em)");
    function update() { drawer.inert = narrow.matches && !toggle.checked; }
    toggle.addEventListener("change", update);
    if (narrow.addEventListener) narrow.addEventListener("change", update);
    update();
  }

  // A heading's ¶ permalink is for copying a link with the mouse: Tab goes from one thing to read or do to the next.
  function permalinksOutOfTabOrder() {
    document.querySelectorAll(".md-typeset .headerlink").forEach(function (link) { link.tabIndex = -1; });
  }

  // A panel's script and style, loaded when first asked for: a first visit weighs no more.
  var own = document.querySelector('script[src$="assets/lesson.js"]');
  var base = own ? own.src.replace(/assets\/lesson\.js$/, "") : "", loaded = {};
  function onDemand(name) {
    loaded[name] = loaded[name] || new Promise(function (resolve, reject) {
      var style = document.head.appendChild(document.createElement("link"));
      style.rel = "stylesheet";
      style.href = base + "assets/" + name + ".css";
      var script = document.head.appendChild(document.createElement("script"));
      script.src = base + "assets/" + name + ".js";
      script.onload = resolve;
      script.onerror = function (error) { delete loaded[name]; reject(error); };  // a click tries again
    });
    return loaded[name];
  }

  function setupWatch() {
    document.querySelectorAll(".doclab-watch").forEach(function (panel) {
      panel.querySelector(".doclab-watch__open").addEventListener("click", function () {
        onDemand("watch").then(function () { window.DoclabWatch.open(panel, base); });
      });
    });
  }

  // "Do it": under scripts/serve with the lab the page says where its terminals are.
  function setupLive() {
    var meta = document.querySelector('meta[name="doclab-live"]'), container = document.querySelector(".doclab-live");
    if (!meta || !container) return;
    container.querySelector("p").hidden = true;
    var button = container.querySelector("button");
    button.hidden = false;
    button.addEventListener("click", function () {
      onDemand("live").then(function () { window.DoclabLive.open(container, meta.content); });
    });
  }

  function setup() {
    closedDrawerOutOfTabOrder();
    menuButtonForTheKeyboard();
    setupWatch();
    setupLive();
    permalinksOutOfTabOrder();
    nameSearchDialog();
    focusableScrollers();
    window.addEventListener("resize", focusableScrollers);
    setupProgress();
    setupSummary();
    setupScriptCopy();
    setupAnnotations();
    setupCompare();
    setupQuizKeys();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
