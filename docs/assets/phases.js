// The visual walkthrough's stepper, loaded by that page only (docs/learn/visual.md: page_assets, with phases.css).
(function () {
  "use strict";

  // Visual walkthrough: the build's phases one at a time, each lighting up its recorded requests
  // in the sequence diagram (arrows carry data-phase, see doclab/render/sequence.py) and in its table.
  function setupPhases() {
    var list = document.querySelector("ol.doclab-phases");
    var figure = document.querySelector(".doclab-trace");
    if (!list || !figure) return;
    var items = Array.prototype.slice.call(list.querySelectorAll("li[data-phase]"));
    var svg = figure.querySelector("svg");
    var table = figure.nextElementSibling && (figure.nextElementSibling.querySelector("table") || figure.nextElementSibling);
    var controls = document.createElement("div");
    controls.className = "doclab-phases__controls";
    controls.innerHTML = '<button type="button" class="md-button" data-move="-1">Previous phase</button>' +
      '<span class="doclab-phases__where" aria-live="polite"></span>' +
      '<button type="button" class="md-button md-button--primary" data-move="1">Next phase</button>';
    list.parentNode.insertBefore(controls, list);
    list.classList.add("doclab-phases--stepping");
    var current = 0;

    function show(index) {
      current = index;
      items.forEach(function (item, at) { item.hidden = at !== index; });
      var phase = items[index].dataset.phase;
      svg.setAttribute("data-active-phase", phase);
      // On a narrow screen the diagram scrolls sideways: a phase whose first arrow starts out of view is brought
      // there with the box of the part it starts from (half a box, 4.5rem, left of the line); one in view stays put.
      var arrow = svg.querySelector("g[data-phase='" + phase + "']");
      if (arrow && figure.scrollWidth > figure.clientWidth) {
        var box = arrow.getBoundingClientRect(), view = figure.getBoundingClientRect();
        if (box.left < view.left || box.left > view.right - 72) figure.scrollLeft += box.left - view.left - 72;
      }
      var name = items[index].querySelector("strong").textContent.split(" — ")[0];
      if (table && table.tBodies) {
        Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
          row.classList.toggle("doclab-row--active", row.cells[row.cells.length - 1].textContent.trim() === name);
        });
      }
      controls.querySelector(".doclab-phases__where").textContent = "Phase " + (index + 1) + " of " + items.length + ": " + name;
      controls.querySelector("[data-move='-1']").disabled = index === 0;
      controls.querySelector("[data-move='1']").disabled = index === items.length - 1;
    }

    controls.addEventListener("click", function (event) {
      var move = event.target.closest("[data-move]");
      if (move) show(current + Number(move.dataset.move));
    });
    show(0);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setupPhases);
  else setupPhases();
})();
