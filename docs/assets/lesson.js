// The learner's side of the site: step progress (kept in localStorage), the landing page's
// summary, flashcards, and the "copy all steps as one script" button.
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
    panel.querySelector(".lesson-progress__reset").addEventListener("click", function () {
      save(key, []);
      show();
    });
    show();
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

  function setupFlashcards() {
    document.querySelectorAll(".flashcard").forEach(function (card) {
      card.addEventListener("click", function () {
        var flipped = card.getAttribute("aria-pressed") !== "true";
        card.setAttribute("aria-pressed", String(flipped));
        card.querySelector(".flashcard__front").hidden = flipped;
        card.querySelector(".flashcard__back").hidden = !flipped;
      });
    });
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

  // Material's search dialog has no accessible name; screen readers announce it as "Search".
  function nameSearchDialog() {
    var dialog = document.querySelector(".md-search[role='dialog']");
    if (dialog && !dialog.getAttribute("aria-label")) dialog.setAttribute("aria-label", "Search");
  }

  function setup() {
    nameSearchDialog();
    setupProgress();
    setupSummary();
    setupFlashcards();
    setupScriptCopy();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
