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

  function setupProgress() {
    var panel = document.querySelector(".lesson-progress");
    if (!panel) return;
    var key = PREFIX + panel.dataset.lesson;
    var total = Number(panel.dataset.total);
    var boxes = document.querySelectorAll(".lesson-step input[data-step]");
    var label = panel.querySelector(".lesson-progress__label");
    var bar = panel.querySelector(".lesson-progress__bar");

    function show() {
      var done = load(key, []);
      boxes.forEach(function (box) { box.checked = done.indexOf(box.dataset.step) >= 0; });
      label.textContent = done.length + " / " + total + " steps";
      bar.value = done.length;
    }

    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        var done = load(key, []).filter(function (step) { return step !== box.dataset.step; });
        if (box.checked) done.push(box.dataset.step);
        save(key, done.sort());
        show();
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

  function setupScriptCopy() {
    document.querySelectorAll(".doclab-script__copy").forEach(function (button) {
      button.addEventListener("click", function () {
        var details = button.closest(".doclab-script").nextElementSibling;
        var code = details && details.querySelector("code");
        if (!code || !navigator.clipboard) return;
        navigator.clipboard.writeText(code.textContent).then(function () {
          button.textContent = "Copied — paste it into a shell";
        });
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
