// The lesson's pure logic, with no DOM: judging an answer (as doclab/lesson/answers.py does), and
// comparing a reader's build output with the captured one (cleaned with doclab.run.scrub's rules and
// labelled with doclab.render.walkthrough's, both carried by the page). Loaded by the page before
// lesson.js and exercise.js (window.DoclabLogic), and by Node's test runner (tests/js/).
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.DoclabLogic = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // --- Answers ---------------------------------------------------------------------------------
  function normaliseAnswer(text) {
    text = text.replace(/[\u201c\u201d\u201e]/g, '"').replace(/[\u2018\u2019\u201a]/g, "'");
    return text.split(/\r\n|[\r\n\u2028\u2029]/)
      .map(function (line) { return line.replace(/[ \t\u00a0]+/g, " ").replace(/^ | $/g, ""); })
      .filter(function (line) { return line !== ""; })
      .join("\n");
  }

  // The field's verdict: "right" (an accepted answer), "not-yet" (a known mistake, or no rule) or "empty".
  function checkField(field, answer) {
    var text = normaliseAnswer(answer);
    if (!text) return {field: field, verdict: "empty", rule: null};
    var lists = [[field.accept || [], "right"], [field.mistakes || [], "not-yet"]];
    for (var l = 0; l < lists.length; l++) {
      for (var r = 0; r < lists[l][0].length; r++) {
        var rule = lists[l][0][r];
        if (new RegExp("^(?:" + rule.pattern + ")$").test(text)) return {field: field, verdict: lists[l][1], rule: rule};
      }
    }
    return {field: field, verdict: "not-yet", rule: null};
  }

  // --- Outputs ---------------------------------------------------------------------------------
  var PROGRESS = /^(<id>|[0-9a-f]{12}): (Pulling fs layer|Waiting|Downloading|Verifying Checksum|Download complete|Extracting)\b/;
  var TROUBLE = [
    [/Cannot connect to the Docker daemon|error during connect/i, "the-daemon-is-not-running-or-docker_host-is-wrong", "the client cannot reach a daemon"],
    [/unknown instruction|dockerfile parse error/i, "a-typo-in-the-dockerfile", "the Dockerfile has an instruction Docker does not know"],
    [/manifest unknown|not found: manifest|failed to resolve source metadata/i, "the-tag-does-not-exist-in-the-registry", "the registry has no such tag"],
    [/connection refused|dial tcp|no such host|i\/o timeout/i, "the-registry-is-unreachable", "the daemon cannot reach the registry"],
    [/unable to prepare context|failed to read dockerfile|Dockerfile: no such file/i, "no-dockerfile-in-the-build-context", "there is no Dockerfile in the build context"],
    [/permission denied while trying to connect to the Docker daemon/i, "", "your user may not use the daemon's socket: add it to the docker group (then log in again), or use sudo"]
  ];

  // The page's rule sets, as JSON carries them: [[pattern, actors], …] and [[pattern, replacement], …].
  function explainRules(data) {
    return data.map(function (rule) { return {pattern: new RegExp(rule[0]), actors: rule[1]}; });
  }

  function volatileRules(data) {
    return data.map(function (rule) { return [new RegExp(rule[0], "g"), rule[1]]; });
  }

  function normalizeLine(line, volatile) {
    var text = line.replace(/\s+$/, "").replace(/(\S) {2,}(?=\S)/g, "$1  ");
    volatile.forEach(function (rule) { text = text.replace(rule[0], rule[1]); });
    return text.replace(/^#\d+ /, "#N ").replace(/ <duration> done$/, " done");
  }

  // BuildKit's terminal view (" => [1/2] FROM …  0.3s", " => => naming to …") in its plain form, as
  // doclab.render.walkthrough._as_plain reads it: one set of rules explains and compares both.
  function asPlain(line) {
    if (!/^ *=> /.test(line)) return line;
    return line.replace(/\s+$/, "").replace(/^ *=> (?:=> )?/, "#0 ").replace(/\s+\d+(?:\.\d+)?s$/, "");
  }

  // doclab.capture.facts.BUILDERS, as the page carries them: [[name, pattern], …].
  function builderRules(data) {
    return data.map(function (rule) { return [rule[0], new RegExp(rule[1], "m")]; });
  }

  function builderOf(text, builders) {
    var found = builders.filter(function (rule) { return rule[1].test(text); })[0];
    return found ? found[0] : null;
  }

  function actorsOf(line, rules) {
    var plain = asPlain(line);
    var rule = rules.filter(function (candidate) { return candidate.pattern.test(plain); })[0];
    return rule ? rule.actors : null;
  }

  // A captured output as the comparison holds it: its lines, cleaned up.
  function reference(id, text, volatile) {
    return {id: id, lines: text.split("\n").map(function (line) { return normalizeLine(asPlain(line), volatile); })};
  }

  // The page's captured outputs ([id, text] pairs) as references by builder: every output of a builder is its reference
  // (the plain form, the terminal's screen, overlay2's), their lines together.
  function references(outputs, volatile, builders) {
    var captured = {};
    outputs.forEach(function (pair) {
      var builder = builderOf(pair[1], builders), ref = reference(pair[0], pair[1], volatile);
      captured[builder] = captured[builder] ? {id: captured[builder].id + " " + ref.id, lines: captured[builder].lines.concat(ref.lines)} : ref;
    });
    return captured;
  }

  // The reader's output against the captured one of the same builder (``captured``: builder → reference):
  // what to tell them (each finding a message, with a troubleshooting anchor where one fits) and each line.
  function compareOutput(text, captured, rules, volatile, builders) {
    text = text.replace(/\r\n?/g, "\n");
    var lines = text.split("\n").filter(function (line) { return line.trim(); });
    if (!lines.length) return {empty: true, findings: [], lines: []};
    var builder = builderOf(text, builders);
    var ref = captured[builder] || null;
    var findings = [];
    var trouble = TROUBLE.filter(function (rule) { return rule[0].test(text); })[0];
    if (trouble || /^(ERROR|error:|Error response from daemon)/m.test(text)) {
      findings.push({message: "Your build failed" + (trouble ? ": " + trouble[2] + "." : "."), anchor: trouble ? trouble[1] : ""});
    }
    var plainText = lines.map(asPlain).join("\n");
    if (builder) {
      // A daemon on overlay2 (Debian's 20.10, CI runners, upgraded installs) writes the image as one: its own tab.
      var tab = builder !== "BuildKit" ? "Classic builder" : /^#\d+ writing image /m.test(plainText) ? "overlay2" : "BuildKit";
      findings.push({message: "Your daemon used the " + (builder === "BuildKit" ? "BuildKit builder" : "classic builder") +
        ": compare with the “" + tab + "” tab."});
    }
    if (/^DEPRECATED: The legacy builder/m.test(text)) {
      findings.push({message: "Your client asked the daemon's classic builder (it has no buildx plugin, or DOCKER_BUILDKIT=0 was set) and printed a deprecation notice first."});
    }
    // A layer downloaded (both image stores print its bytes; only overlay2 then prints "extracting").
    var pulled = builder === "BuildKit" ? /^#\d+ (?:extracting sha256:|sha256:[0-9a-f]+ \S+ \/ \S+)/m.test(plainText)
      : /: Pulling from /m.test(text);
    if (builder && !pulled && !trouble) {
      findings.push({message: "Your daemon already had the base image, so there are no pull lines: as on any second run (the captured output shows a first pull)."});
    }
    var differing = 0;
    var shown = lines.map(function (line) {
      var normal = normalizeLine(asPlain(line), volatile);
      var progress = PROGRESS.test(normal);
      var same = Boolean(ref) && ref.lines.indexOf(normal) >= 0;
      if (!same && !progress) differing++;
      return {line: line, actors: actorsOf(line, rules), status: same ? "same" : progress ? "progress" : "differs"};
    });
    findings.push({message: ref ? (differing ? differing + " of your " + lines.length + (differing === 1 ? " lines is" : " lines are") +
      " not in the captured output (after clean-up)." : "Every line of yours is in the captured output (after clean-up).")
      : "This does not look like a docker build output: no line from either builder."});
    return {empty: false, builder: builder, reference: ref, findings: findings, lines: shown, differing: differing};
  }

  // "Watch it run": the command is typed (TYPING s a character), a pause, then the recorded screens at their times.
  var TYPING = 0.04, PAUSE = 0.4;

  function replayLength(replay) {
    var last = replay.frames.length ? replay.frames[replay.frames.length - 1][0] : 0;
    return replay.command.length * TYPING + PAUSE + last;
  }

  // What the replay shows ``seconds`` into it: the prompt as typed so far, the terminal's screen, whether it ended.
  function replayAt(replay, seconds) {
    var typed = Math.max(0, Math.min(replay.command.length, Math.floor(seconds / TYPING + 1e-9)));
    var after = seconds - (replay.command.length * TYPING + PAUSE), screen = "";
    for (var index = 0; index < replay.frames.length && replay.frames[index][0] <= after + 1e-9; index++) screen = replay.frames[index][1];
    return {prompt: "$ " + replay.command.slice(0, typed), screen: screen, ended: seconds >= replayLength(replay)};
  }

  // The deck in a new order: Fisher-Yates over the cards' names, ``random`` as Math.random (a test passes its own).
  function shuffled(names, random) {
    var order = names.slice();
    for (var index = order.length - 1; index > 0; index--) {
      var other = Math.floor(random() * (index + 1)), kept = order[index];
      order[index] = order[other];
      order[other] = kept;
    }
    return order;
  }

  // A saved order, kept to the cards the page has now: cards it no longer has go, new ones come last.
  function deckOrder(saved, names) {
    var kept = (saved || []).filter(function (name) { return names.indexOf(name) >= 0; });
    return kept.concat(names.filter(function (name) { return kept.indexOf(name) < 0; }));
  }

  return {
    shuffled: shuffled, deckOrder: deckOrder, replayAt: replayAt, replayLength: replayLength,
    normaliseAnswer: normaliseAnswer, checkField: checkField, explainRules: explainRules, volatileRules: volatileRules,
    normalizeLine: normalizeLine, asPlain: asPlain, builderRules: builderRules, builderOf: builderOf, actorsOf: actorsOf, reference: reference,
    references: references,
    compareOutput: compareOutput
  };
});
