// "Watch it run": the player of a terminal block's replay, loaded by lesson.js when a reader first asks for one.
// It types the command, then shows the screens the build left on a terminal at the times it left them
// (site casts/PAGE/CAPTURE.frames.json, drawn when the site was built by the emulator that drew the captured
// screen); what it shows at a time is DoclabLogic.replayAt's (doclab-logic.js, tested under Node).
(function () {
  "use strict";
  var logic = window.DoclabLogic;
  var SPEEDS = [0.5, 1, 2, 4];

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function clock(seconds) {
    return seconds.toFixed(1) + " s";
  }

  function open(panel, base) {
    var host = panel.closest("p") || panel, existing = host.nextElementSibling;
    if (existing && existing.classList.contains("doclab-player")) { existing.querySelector(".doclab-player__play").focus(); return; }
    var command = panel.dataset.command;
    var player = element("div", "doclab-player");
    host.insertAdjacentElement("afterend", player);
    player.setAttribute("role", "group");
    player.setAttribute("aria-label", "Replay of " + command);
    player.appendChild(element("p", "doclab-player__alt",
      "A replay of this build as a terminal showed it, at the speed it ran; the screen it ends on is the output above."));
    var prompt = player.appendChild(element("div", "doclab-player__prompt"));
    var screen = player.appendChild(element("pre", "doclab-player__screen"));
    screen.tabIndex = 0;  // 80 columns scroll sideways on a phone: the keyboard can reach them
    screen.setAttribute("aria-label", "The replay's terminal screen");
    var controls = player.appendChild(element("div", "doclab-player__controls"));
    var play = controls.appendChild(element("button", "md-button md-button--primary doclab-player__play", "Pause"));
    play.type = "button";
    var seek = controls.appendChild(element("input", "doclab-player__seek"));
    seek.type = "range";
    seek.min = "0";
    seek.step = "0.01";
    seek.setAttribute("aria-label", "Position in the replay");
    var speedLabel = controls.appendChild(element("label", "doclab-player__speed"));
    speedLabel.appendChild(document.createTextNode("Speed "));
    var speed = speedLabel.appendChild(element("select"));
    SPEEDS.forEach(function (value) {
      var option = speed.appendChild(element("option", null, value + "×"));
      option.value = String(value);
      option.selected = value === 1;
    });
    var time = controls.appendChild(element("span", "doclab-player__time"));
    time.setAttribute("aria-live", "off");

    fetch(base + "casts/" + panel.dataset.cast + ".frames.json").then(function (answer) {
      if (!answer.ok) throw new Error(answer.status);
      return answer.json();
    }).then(function (replay) {
      start(replay, player, prompt, screen, play, seek, speed, time);
    }).catch(function () {
      player.textContent = "This build of the site has no replay of this run: its output above is the whole of it.";
    });
    play.focus();
  }

  function start(replay, player, prompt, screen, play, seek, speed, time) {
    var length = logic.replayLength(replay), position = 0, playing = true, last = null;
    seek.max = String(length);
    screen.style.width = replay.width + "ch";

    function draw() {
      var shown = logic.replayAt(replay, position);
      prompt.textContent = shown.prompt;
      screen.textContent = shown.screen;
      seek.value = String(position);
      time.textContent = clock(position) + " / " + clock(length);
      player.dataset.state = shown.ended ? "ended" : playing ? "playing" : "paused";
      play.textContent = playing ? "Pause" : shown.ended ? "Play again" : "Play";
    }

    function tick(now) {
      if (!playing) return;
      if (last !== null) position = Math.min(length, position + (now - last) / 1000 * Number(speed.value));
      last = now;
      if (position >= length) playing = false;
      draw();
      if (playing) window.requestAnimationFrame(tick);
    }

    function resume() {
      if (position >= length) position = 0;
      playing = true;
      last = null;
      draw();
      window.requestAnimationFrame(tick);
    }

    play.addEventListener("click", function () {
      if (playing) { playing = false; draw(); } else resume();
    });
    seek.addEventListener("input", function () {
      position = length - Number(seek.value) < 0.01 ? length : Number(seek.value);  // its steps may stop short of the end
      last = null;
      draw();
    });
    // A reader who asks for less motion gets the run's last screen, paused: Play plays it.
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      position = length;
      playing = false;
      draw();
      return;
    }
    draw();
    window.requestAnimationFrame(tick);
  }

  window.DoclabWatch = {open: open};
})();
