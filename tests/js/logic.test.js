// doclab-logic.js under Node's own test runner, on the tables Python's tests read too. Run by
// tests/unit/test_javascript.py, which passes the page's rule sets and the cases as DOCLAB_JS_FIXTURES.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");

const logic = require(path.join(__dirname, "..", "..", "docs", "assets", "doclab-logic.js"));
const live = require(path.join(__dirname, "..", "..", "docs", "assets", "live.js"));
const fixtures = JSON.parse(fs.readFileSync(process.env.DOCLAB_JS_FIXTURES, "utf8"));
const rules = logic.explainRules(fixtures.explainRules);
const volatile = logic.volatileRules(fixtures.volatileRules);
const builders = logic.builderRules(fixtures.builderRules);

test("every answer of the table gets the rule doclab/lesson/answers.py gives it", () => {
  const differ = [];
  for (const item of fixtures.answerCases) {
    const fields = fixtures.answerRules.steps[item.step].fields;
    const judged = {};
    let right = true;
    for (const field of fields) {
      const result = logic.checkField(field, item.answers[field.name] || "");
      judged[field.name] = result.verdict === "empty" ? "empty" : result.rule ? result.rule.id : null;
      right = right && result.verdict === "right";
    }
    const expected = Object.fromEntries(fields.map((field) => [field.name, field.name in item.expect ? item.expect[field.name] : "empty"]));
    if (JSON.stringify(judged) !== JSON.stringify(expected) || right !== item.right) differ.push({item, judged, right});
  }
  assert.ok(fixtures.answerCases.length >= 80);
  assert.deepEqual(differ, []);
});

test("an answer is read as a reader types it: quotes, spaces and blank lines do not count", () => {
  assert.equal(logic.normaliseAnswer("  FROM\u00a0 alpine:3.18 \r\n\r\n"), "FROM alpine:3.18");
  assert.equal(logic.normaliseAnswer("IMAGE_NAME=\u201cmy-alpine-image\u201d"), 'IMAGE_NAME="my-alpine-image"');
  assert.equal(logic.checkField({accept: [{id: "a", pattern: "x"}]}, " ").verdict, "empty");
});

for (const item of fixtures.compareCases) {
  test(`compare your output: ${item.name}`, () => {
    const captured = logic.references(Object.entries(item.captured), volatile, builders);
    const compared = logic.compareOutput(item.output, captured, rules, volatile, builders);
    const said = compared.findings.map((finding) => finding.message).join("\n");
    for (const phrase of item.says) assert.ok(said.includes(phrase), said);
    assert.ok(compared.lines.length > 0 && compared.lines.every((line) => line.actors), JSON.stringify(compared.lines.filter((l) => !l.actors)));
    if (item.anchor) assert.equal(compared.findings[0].anchor, item.anchor);
  });
}

test("every line of every recorded build is labelled as the walk-through labels it", () => {
  const differ = fixtures.labelledLines.filter(([line, actors]) => JSON.stringify(logic.actorsOf(line, rules)) !== JSON.stringify(actors));
  assert.ok(fixtures.labelledLines.length > 100);
  assert.deepEqual(differ.slice(0, 5), []);
});

test("a terminal view's line reads as its plain form", () => {
  assert.equal(logic.asPlain(" => => naming to docker.io/library/my-alpine-image:latest  0.0s"),
    "#0 naming to docker.io/library/my-alpine-image:latest");
  assert.equal(logic.asPlain("#1 DONE 0.0s"), "#1 DONE 0.0s");
  assert.equal(logic.builderOf("Step 1/1 : FROM alpine:3.18", builders), "classic builder");
  assert.equal(logic.builderOf("#0 building with \"default\" instance using docker driver", builders), "BuildKit");
  assert.equal(logic.builderOf("hello", builders), null);
});

test("a shuffled deck holds every card once, in an order the random numbers decide", () => {
  const names = ["Client", "Daemon", "Registry", "Tag", "Digest"];
  const zeros = logic.shuffled(names, () => 0);
  assert.deepEqual([...zeros].sort(), [...names].sort());
  assert.deepEqual(zeros, ["Daemon", "Registry", "Tag", "Digest", "Client"]);
  assert.deepEqual(logic.shuffled(names, () => 0.999), names);
  assert.deepEqual(names, ["Client", "Daemon", "Registry", "Tag", "Digest"], "the page's own order is left as it was");
});

test("a saved order keeps to the cards the page has: gone ones dropped, new ones last", () => {
  assert.deepEqual(logic.deckOrder(["Tag", "Gone", "Client"], ["Client", "Daemon", "Tag"]), ["Tag", "Client", "Daemon"]);
  assert.deepEqual(logic.deckOrder(null, ["Client", "Daemon"]), ["Client", "Daemon"]);
});

test("a replay types the command, pauses, then shows each recorded screen from its time to the end", () => {
  const replay = {command: "ls", frames: [[0.1, "a\n"], [0.5, "b\n"]]};
  const start = 2 * 0.04 + 0.4;  // typed, then the pause
  assert.deepEqual(logic.replayAt(replay, 0), {prompt: "$ ", screen: "", ended: false});
  assert.equal(logic.replayAt(replay, 0.04).prompt, "$ l");
  assert.deepEqual(logic.replayAt(replay, start + 0.05), {prompt: "$ ls", screen: "", ended: false});
  assert.equal(logic.replayAt(replay, start + 0.1).screen, "a\n");
  assert.equal(logic.replayAt(replay, start + 0.49).screen, "a\n");
  assert.deepEqual(logic.replayAt(replay, logic.replayLength(replay)), {prompt: "$ ls", screen: "b\n", ended: true});
  assert.equal(logic.replayLength(replay), start + 0.5);
});

test("a key sends what xterm sends; Tab and Escape stay with the page, so the keyboard can leave the terminal", () => {
  const key = (name, extra = {}) => live.terminalKeys({key: name, ctrlKey: false, altKey: false, metaKey: false, ...extra});
  assert.equal(key("a"), "a");
  assert.equal(key("$"), "$");
  assert.equal(key(" "), " ");
  assert.equal(key("Enter"), "\r");
  assert.equal(key("Backspace"), "\x7f");
  assert.equal(key("ArrowUp"), "\x1b[A");
  assert.equal(key("c", {ctrlKey: true}), "\x03");
  assert.equal(key("D", {ctrlKey: true}), "\x04");
  assert.equal(key("b", {altKey: true}), "\x1bb");
  assert.equal(key("Tab"), null);
  assert.equal(key("Escape"), null);
  assert.equal(key("Shift"), null);
  assert.equal(key("v", {metaKey: true}), null);
  assert.equal(key("v", {ctrlKey: true}), null, "the browser pastes; the paste event sends the text");
  assert.equal(key("V", {ctrlKey: true, shiftKey: true}), null);
  assert.equal(key("C", {ctrlKey: true, shiftKey: true}), null, "copies");
  assert.equal(live.terminalKeys({key: "c", ctrlKey: true, altKey: false, metaKey: false}, true), null, "copies a selection");
});

test("the screen's cursor cell is a run of its own, past the end of a line too", () => {
  assert.deepEqual(live.screenRuns(["ab", "~ # "], [4, 1]), [[["ab", false]], [["~ # ", false], [" ", true], ["", false]]]);
  assert.deepEqual(live.screenRuns(["abc"], [1, 0]), [[["a", false], ["b", true], ["c", false]]]);
});
