// "Do it": a live terminal beside the lesson, under scripts/serve with the lab (doclab/tools/live.py). Loaded by
// lesson.js when the reader opens it. The shell is the page sandbox's, on a lab daemon of its own; the screen comes
// drawn (server-sent events), keys go as xterm sends them (terminalKeys, below), and each step's "Check my work"
// asks the server what is really there, then ticks the step or says what is missing.
// Its pure part (keys, the screen's runs) is exported to Node's test runner too (tests/js/).
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.DoclabLive = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // What a key sends to the shell's terminal, as xterm sends it; null for a key the page keeps: Tab and Escape (they
  // take the focus out of the terminal), the browser's paste (Ctrl+V, Ctrl+Shift+V: the paste event sends the text)
  // and its copy (Ctrl+Shift+C, and Ctrl+C while text is selected: ``selected``).
  var KEYS = {Enter: "\r", Backspace: "\x7f", Delete: "\x1b[3~", ArrowUp: "\x1b[A", ArrowDown: "\x1b[B",
              ArrowRight: "\x1b[C", ArrowLeft: "\x1b[D", Home: "\x1b[H", End: "\x1b[F"};
  function terminalKeys(key, selected) {
    var letter = key.key.length === 1 ? key.key.toLowerCase() : "";
    if (key.metaKey) return null;
    if (key.ctrlKey && (letter === "v" || (key.shiftKey && letter === "c") || (letter === "c" && selected))) return null;
    if (key.ctrlKey && !key.altKey && /^[a-z]$/.test(letter)) return String.fromCharCode(letter.charCodeAt(0) - 96);
    if (key.ctrlKey) return null;
    if (Object.prototype.hasOwnProperty.call(KEYS, key.key)) return KEYS[key.key];
    if (key.key.length === 1) return (key.altKey ? "\x1b" : "") + key.key;
    return null;
  }

  // The terminal's screen as runs of text, the cursor's cell its own run: [[text, isCursor], ...] per line.
  function screenRuns(lines, cursor) {
    return lines.map(function (line, row) {
      if (!cursor || row !== cursor[1]) return [[line, false]];
      var column = cursor[0], padded = line.length > column ? line : line + " ".repeat(column + 1 - line.length);
      return [[padded.slice(0, column), false], [padded.charAt(column), true], [padded.slice(column + 1), false]];
    });
  }


  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function open(container, setting) {
    var existing = document.querySelector(".doclab-terminal");
    if (existing && !existing.dataset.ended) { existing.querySelector(".doclab-terminal__screen").focus(); return; }
    if (existing) {  // its shell ended (exit): a new one replaces it, with its own Check my work buttons
      existing.remove();
      document.querySelectorAll(".doclab-check").forEach(function (node) { node.remove(); });
    }
    var where = setting.split("#"), base = where[0].replace(/\/$/, ""), token = where[1] || "", session = null;
    function url(action, query) {
      return base + "/" + action + "?token=" + encodeURIComponent(token) + (session ? "&session=" + encodeURIComponent(session) : "") + (query || "");
    }

    var panel = element("section", "doclab-terminal");
    panel.setAttribute("aria-label", "Live terminal");
    var bar = panel.appendChild(element("div", "doclab-terminal__bar"));
    bar.appendChild(element("span", "doclab-terminal__title", "Live terminal · a shell of your own on a Docker daemon of its own"));
    var fold = bar.appendChild(element("button", "md-button doclab-terminal__fold", "Fold"));
    fold.type = "button";
    fold.setAttribute("aria-expanded", "true");
    var end = bar.appendChild(element("button", "md-button doclab-terminal__end", "End"));
    end.type = "button";
    var body = panel.appendChild(element("div", "doclab-terminal__body"));
    var help = body.appendChild(element("p", "doclab-terminal__help",
      "Click the screen (or Tab to it) and type. Tab or Escape goes to the next step's Check my work; Ctrl+C stops a " +
      "command. Leaving or reloading the page ends this shell."));
    help.id = "doclab-terminal-help";
    var screen = body.appendChild(element("pre", "doclab-terminal__screen"));
    screen.tabIndex = 0;
    screen.setAttribute("aria-label", "Live terminal screen: type commands here");
    screen.setAttribute("aria-describedby", help.id);
    var status = body.appendChild(element("p", "doclab-terminal__status", "Starting a shell and a Docker daemon of its own…"));
    status.setAttribute("role", "status");
    document.body.appendChild(panel);
    document.body.classList.add("doclab-terminal-open");

    function draw(view) {
      var cursor = null;
      screen.textContent = "";
      screenRuns(view.lines, view.alive ? view.cursor : null).forEach(function (runs, row) {
        runs.forEach(function (run) {
          if (run[1]) cursor = screen.appendChild(element("span", "doclab-terminal__cursor", run[0] === " " ? "\u00a0" : run[0]));
          else screen.appendChild(document.createTextNode(run[0]));
        });
        if (row < view.lines.length - 1) screen.appendChild(document.createTextNode("\n"));
      });
      // The cursor's row and column in sight: the panel scrolls, and 80 columns scroll sideways on a phone.
      if (cursor) cursor.scrollIntoView({block: "nearest", inline: "nearest"});
      if (!view.alive) {
        panel.dataset.ended = "true";
        if (events) events.close();
        status.textContent = "This shell has ended. \"Open a live terminal\" above the steps starts a new one.";
      }
    }

    // One request at a time, each with every key typed meanwhile: requests sent together may arrive out of order.
    var pending = "", sending = false;
    function send(keys) {
      pending += keys;
      if (sending || !session || !pending) return;
      sending = true;
      var batch = pending;
      pending = "";
      fetch(url("input"), {method: "POST", body: batch}).catch(function () {}).then(function () {
        sending = false;
        send("");
      });
    }

    screen.addEventListener("keydown", function (event) {
      if ((event.key === "Tab" && !event.shiftKey) || event.key === "Escape") {
        var next = nextCheck();
        if (next) { event.preventDefault(); next.focus(); }
        return;
      }
      var keys = terminalKeys(event, String(window.getSelection()) !== "");
      if (keys === null) return;
      event.preventDefault();
      event.stopPropagation();  // the theme's own keys (n, p, s, /: next page, search) are the shell's here
      send(keys);
    });
    screen.addEventListener("paste", function (event) {
      event.preventDefault();
      send((event.clipboardData.getData("text") || "").replace(/\r?\n/g, "\r"));
    });
    fold.addEventListener("click", function () {
      var folded = panel.classList.toggle("doclab-terminal--folded");
      fold.textContent = folded ? "Unfold" : "Fold";
      fold.setAttribute("aria-expanded", String(!folded));
    });

    var events = null;
    function close() {
      if (events) events.close();
      if (session) navigator.sendBeacon(url("close"));
      session = null;
    }
    end.addEventListener("click", function () {
      close();
      panel.remove();
      document.body.classList.remove("doclab-terminal-open");
      document.querySelectorAll(".doclab-check").forEach(function (node) { node.remove(); });
      container.querySelector("button").focus();
    });
    window.addEventListener("pagehide", close);

    fetch(url("open"), {method: "POST"}).then(function (answer) {
      return answer.json().then(function (data) {
        if (!answer.ok) throw new Error(data.says || answer.status);
        return data;
      });
    }).then(function (data) {
      session = data.session;
      status.textContent = "A new shell, in an empty home folder, on a Docker daemon of its own that holds no image yet.";
      events = new EventSource(url("screen"));
      events.onmessage = function (message) { draw(JSON.parse(message.data)); };
      addChecks(url);
      screen.focus();
    }).catch(function (error) {
      status.textContent = "No live terminal: " + error.message;
    });
  }

  // Where Tab or Escape takes the keyboard from the terminal: the first step not ticked yet (else the last one).
  function nextCheck() {
    var checks = Array.prototype.slice.call(document.querySelectorAll(".doclab-check"));
    var open = checks.filter(function (check) { return !check.previousElementSibling.querySelector("input").checked; });
    var target = open[0] || checks[checks.length - 1];
    return target && target.querySelector("button");
  }

  // "Check my work" under each step's tick box: the server looks at the shell, its folder and its daemon.
  function addChecks(url) {
    document.querySelectorAll(".lesson-step input[data-step]").forEach(function (box) {
      var label = box.closest(".lesson-step");
      var check = element("div", "doclab-check");
      var button = check.appendChild(element("button", "md-button doclab-check__button", "Check my work"));
      button.type = "button";
      var said = check.appendChild(element("p", "doclab-check__says"));
      said.setAttribute("role", "status");
      label.insertAdjacentElement("afterend", check);
      button.addEventListener("click", function () {
        said.textContent = "Checking…";
        fetch(url("check", "&step=" + encodeURIComponent(box.dataset.step)), {method: "POST"}).then(function (answer) {
          return answer.json();
        }).then(function (verdict) {
          said.textContent = verdict.says;
          check.dataset.done = String(Boolean(verdict.done));
          if (verdict.done && !box.checked) {
            box.checked = true;
            box.dispatchEvent(new Event("change"));
          }
        }).catch(function () {
          said.textContent = "The live terminal does not answer: is scripts/serve still running?";
        });
      });
    });
  }

  return {open: open, terminalKeys: terminalKeys, screenRuns: screenRuns};
});
