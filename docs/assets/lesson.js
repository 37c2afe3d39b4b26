// Lesson progress: which steps the reader ticked, kept in localStorage across reloads.
(function () {
  "use strict";
  var PREFIX = "doclab-progress:";

  function load(lesson) {
    try { return JSON.parse(localStorage.getItem(PREFIX + lesson)) || []; } catch (e) { return []; }
  }

  function save(lesson, steps) {
    try { localStorage.setItem(PREFIX + lesson, JSON.stringify(steps)); } catch (e) { /* storage off: progress lasts the visit */ }
  }

  function setup() {
    var panel = document.querySelector(".lesson-progress");
    if (!panel) return;
    var lesson = panel.dataset.lesson;
    var total = Number(panel.dataset.total);
    var boxes = document.querySelectorAll(".lesson-step input[data-step]");
    var label = panel.querySelector(".lesson-progress__label");
    var bar = panel.querySelector(".lesson-progress__bar");

    function show() {
      var done = load(lesson);
      boxes.forEach(function (box) { box.checked = done.indexOf(box.dataset.step) >= 0; });
      label.textContent = done.length + " / " + total + " steps";
      bar.value = done.length;
    }

    boxes.forEach(function (box) {
      box.addEventListener("change", function () {
        var done = load(lesson).filter(function (step) { return step !== box.dataset.step; });
        if (box.checked) done.push(box.dataset.step);
        save(lesson, done.sort());
        show();
      });
    });
    panel.querySelector(".lesson-progress__reset").addEventListener("click", function () {
      save(lesson, []);
      show();
    });
    show();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
