// The flashcards page's deck, loaded by that page only (docs/learn/flashcards.md: page_assets, with flashcards.css).
(function () {
  "use strict";

  function load(key, fallback) {
    try { var value = JSON.parse(localStorage.getItem(key)); return value === null ? fallback : value; } catch (e) { return fallback; }
  }

  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage off: the marks last the visit */ }
  }

  // Flashcards: a card flips when selected; "I knew it" marks it, and the marks and a shuffled order are kept in this
  // browser ("Start over" clears them). The order's logic is DoclabLogic's (doclab-logic.js, tested under Node).
  var FLASHCARDS_KEY = "doclab-flashcards";

  function setupFlashcards() {
    var deck = document.querySelector(".flashcards");
    if (!deck) return;
    var cards = Array.prototype.slice.call(deck.querySelectorAll(".flashcard"));
    var state = load(FLASHCARDS_KEY, {});
    var known = state.known || [], slots = {};
    var bar = document.createElement("p");
    bar.className = "flashcards__bar";
    bar.innerHTML = '<span class="flashcards__count" aria-live="polite"></span> ' +
      '<button type="button" class="md-button flashcards__shuffle">Shuffle</button> ' +
      '<button type="button" class="md-button flashcards__restart">Start over</button> ' +
      '<button type="button" class="md-button flashcards__undo" hidden>Undo start over</button>';
    deck.parentNode.insertBefore(bar, deck);
    var count = bar.querySelector(".flashcards__count");

    function nameOf(card) { return card.querySelector(".flashcard__front").firstChild.textContent.trim(); }
    function keep() { save(FLASHCARDS_KEY, state); }
    function update() {
      Object.keys(slots).forEach(function (name) {
        var isKnown = known.indexOf(name) >= 0;
        slots[name].classList.toggle("flashcard-slot--known", isKnown);
        slots[name].querySelector(".flashcard__knew").setAttribute("aria-pressed", String(isKnown));
      });
      count.textContent = known.length + " of " + cards.length + " known";
    }
    function arrange(order) {
      order.forEach(function (name) { deck.appendChild(slots[name]); });
    }

    cards.forEach(function (card) {
      var name = nameOf(card), slot = document.createElement("div");
      slot.className = "flashcard-slot";
      deck.insertBefore(slot, card);
      slot.appendChild(card);
      var knew = slot.appendChild(document.createElement("button"));
      knew.type = "button";
      knew.className = "flashcard__knew";
      knew.textContent = "I knew it";
      knew.setAttribute("aria-label", "I knew " + name);
      knew.addEventListener("click", function () {
        known = known.indexOf(name) >= 0 ? known.filter(function (other) { return other !== name; }) : known.concat([name]);
        state.known = known;
        keep();
        update();
      });
      slots[name] = slot;
      card.addEventListener("click", function () {
        var flipped = card.getAttribute("aria-pressed") !== "true";
        card.setAttribute("aria-pressed", String(flipped));
        card.querySelector(".flashcard__front").hidden = flipped;
        card.querySelector(".flashcard__back").hidden = !flipped;
      });
    });
    var names = cards.map(nameOf);
    known = known.filter(function (name) { return names.indexOf(name) >= 0; });
    if (state.order) arrange(window.DoclabLogic.deckOrder(state.order, names));
    bar.querySelector(".flashcards__shuffle").addEventListener("click", function () {
      state.order = window.DoclabLogic.shuffled(names, Math.random);
      arrange(state.order);
      keep();
      count.textContent = "Shuffled: " + known.length + " of " + cards.length + " known";
    });
    var undo = bar.querySelector(".flashcards__undo"), before = null;
    bar.querySelector(".flashcards__restart").addEventListener("click", function () {
      before = {known: known, order: state.order};  // a slip of the keyboard must not cost the reader their marks
      known = [];
      state = {};
      arrange(names);
      keep();
      update();
      undo.hidden = false;
    });
    undo.addEventListener("click", function () {
      known = before.known;
      state = {known: known, order: before.order};
      if (state.order) arrange(state.order);
      keep();
      update();
      undo.hidden = true;
      bar.querySelector(".flashcards__restart").focus();
    });
    update();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setupFlashcards);
  else setupFlashcards();
})();
