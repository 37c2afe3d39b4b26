"""Check a reader's answers to the mini project's steps with the rules of one JSON file.

The page's JavaScript (``docs/assets/exercise.js``) evaluates the same file with the same
semantics, so the rule language is kept small enough for the two to be equal:

1. **Normalise** each answer: curly quotes become straight ones (“ ” „ → ``"``, ‘ ’ → ``'``);
   the text is split into lines at ``\\r\\n``, ``\\r``, ``\\n``, U+2028 and U+2029; in each line
   every run of spaces, tabs and no-break spaces becomes one space, and a space at either end
   goes; empty lines go; the lines are joined with ``\\n``.
2. **Match** the field's rules in order — first its ``accept`` list, then its ``mistakes`` — and
   stop at the first whose ``pattern`` matches the *whole* normalised answer (Python
   ``re.fullmatch`` with ``re.ASCII``; JavaScript ``^(?:pattern)$`` without flags). No rule:
   the field's ``otherwise`` message. An empty answer is ``empty``.
3. A step is right when every one of its fields is accepted.

Patterns use the subset of regular expressions on which Python and JavaScript agree, checked
when the file is loaded: ASCII only; groups ``( )`` and ``(?: )`` but no other ``(?``; no ``^``
or ``$`` outside a character class (the whole answer is matched anyway); and of the backslash
escapes only ``\\n``, back-references ``\\1``–``\\9`` and escaped punctuation (``\\s``, ``\\w``, ``\\d``
and ``\\b`` are left out: their meanings differ between the two for non-ASCII text).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from doclab.errors import DoclabError

PARTS = ("shell", "client", "daemon", "registry")
_QUOTES = (("\u201c\u201d\u201e", '"'), ("\u2018\u2019\u201a", "'"))
_LINE_BREAK = re.compile("\r\n|[\r\n\u2028\u2029]")
_BLANKS = re.compile("[ \t\u00a0]+")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ALLOWED_ESCAPES = set("n123456789") | set(".^$*+?()[]{}|\\/-\"'")


class AnswerRulesError(DoclabError, ValueError):
    """A rules file doclab cannot use; the message names the file, the rule and the fix."""


@dataclass(frozen=True)
class FieldResult:
    field: str
    verdict: str  # "right", "not-yet" or "empty"
    rule: str | None
    output: str | None


def normalise(text: str) -> str:
    for curly, straight in _QUOTES:
        text = re.sub(f"[{curly}]", straight, text)
    lines = (_BLANKS.sub(" ", line).strip(" ") for line in _LINE_BREAK.split(text))
    return "\n".join(line for line in lines if line)


def _check_pattern(pattern: str, where: str) -> re.Pattern:
    fix = "use the subset described in doclab/lesson/answers.py"
    if not pattern.isascii():
        raise AnswerRulesError(f"{where}: pattern {pattern!r} has a non-ASCII character; {fix}")
    for escape in _ESCAPE.finditer(pattern):
        if escape[1] not in _ALLOWED_ESCAPES:
            raise AnswerRulesError(f"{where}: pattern {pattern!r} uses \\{escape[1]}, which JavaScript reads otherwise; {fix}")
    bare = _ESCAPE.sub("", pattern)
    if "(?" in bare.replace("(?:", ""):
        raise AnswerRulesError(f"{where}: pattern {pattern!r} uses a (? construct other than (?: ; {fix}")
    if "$" in bare or "^" in bare.replace("[^", ""):
        raise AnswerRulesError(f"{where}: pattern {pattern!r} anchors with ^ or $; the whole answer is matched already")
    try:
        return re.compile(pattern, re.ASCII)
    except re.error as error:
        raise AnswerRulesError(f"{where}: pattern {pattern!r} is not a regular expression ({error})") from None


@dataclass(frozen=True)
class Rule:
    id: str
    pattern: re.Pattern
    right: bool
    output: str | None


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    rules: tuple[Rule, ...]


class AnswerRules:
    """The parsed rules file: ``steps`` maps a step number ("1") to its fields, in order."""

    def __init__(self, data: dict, source: str):
        self.data = data
        self.source = source
        self.steps: dict[str, tuple[Field, ...]] = {}
        outputs = data.get("outputs")
        if not isinstance(outputs, dict) or not isinstance(data.get("steps"), dict) or not data.get("lesson"):
            raise AnswerRulesError(f"{source}: needs 'lesson', 'outputs' and 'steps' at the top level")
        for name, output in outputs.items():
            for key in ("title", "printed_by", "explanation"):
                if not output.get(key):
                    raise AnswerRulesError(f"{source}: output '{name}' has no '{key}'")
            if output["printed_by"] not in PARTS:
                raise AnswerRulesError(f"{source}: output '{name}' is printed_by '{output['printed_by']}'; say one of {', '.join(PARTS)}")
        seen: set[str] = set()
        for step, spec in data["steps"].items():
            self.steps[step] = tuple(self._field(step, field, outputs, seen) for field in spec.get("fields", ()))
            if not self.steps[step] or not spec.get("prompt"):
                raise AnswerRulesError(f"{source}: step {step} needs a 'prompt' and at least one field")
        unused = set(outputs) - {rule.output for fields in self.steps.values() for f in fields for rule in f.rules}
        if unused:
            raise AnswerRulesError(f"{source}: outputs {sorted(unused)} are named by no rule; name them in a rule or remove them")

    def _field(self, step: str, spec: dict, outputs: dict, seen: set[str]) -> Field:
        name = spec.get("name")
        where = f"{self.source}: step {step}, field '{name}'"
        if not name or not spec.get("label") or not spec.get("otherwise") or not spec.get("accept"):
            raise AnswerRulesError(f"{where}: a field needs 'name', 'label', 'otherwise' and at least one 'accept' rule")
        rules = []
        for right, kind, text in ((True, "accept", "why"), (False, "mistakes", "explanation")):
            for rule in spec.get(kind, ()):
                rule_where = f"{where}, rule '{rule.get('id')}'"
                if not rule.get("id") or rule["id"] in seen:
                    raise AnswerRulesError(f"{rule_where}: every rule needs an id of its own")
                seen.add(rule["id"])
                if not rule.get(text) or "pattern" not in rule:
                    raise AnswerRulesError(f"{rule_where}: an '{kind}' rule needs a 'pattern' and a '{text}'")
                if rule.get("output") is not None and rule["output"] not in outputs:
                    raise AnswerRulesError(f"{rule_where}: output '{rule['output']}' is not in 'outputs'")
                rules.append(Rule(rule["id"], _check_pattern(rule["pattern"], rule_where), right, rule.get("output")))
        return Field(name, spec["label"], tuple(rules))

    def check_field(self, step: str, field: str, answer: str) -> FieldResult:
        text = normalise(answer)
        if not text:
            return FieldResult(field, "empty", None, None)
        for rule in self._field_of(step, field).rules:
            if rule.pattern.fullmatch(text):
                return FieldResult(field, "right" if rule.right else "not-yet", rule.id, rule.output)
        return FieldResult(field, "not-yet", None, None)

    def check(self, step: str, answers: dict[str, str]) -> list[FieldResult]:
        """One result a field of the step, in the step's order; a field not answered is empty."""
        return [self.check_field(step, field.name, answers.get(field.name, "")) for field in self._fields_of(step)]

    def _fields_of(self, step: str) -> tuple[Field, ...]:
        if step not in self.steps:
            raise AnswerRulesError(f"{self.source}: no step {step!r} (steps: {', '.join(self.steps)})")
        return self.steps[step]

    def _field_of(self, step: str, name: str) -> Field:
        for field in self._fields_of(step):
            if field.name == name:
                return field
        raise AnswerRulesError(f"{self.source}: step {step} has no field {name!r}")

    def outputs_with_exit_codes(self, declared: dict[str, int], page: str) -> dict:
        """The outputs with the exit code ``page`` declares for each; an output the page does not run is an error."""
        missing = sorted(set(self.data["outputs"]) - set(declared))
        if missing:
            raise AnswerRulesError(
                f"{self.source}: outputs {missing} are not run by docs/{page}; "
                "add <!-- exec: id=NAME exit=N --> before the block that prints each"
            )
        return {name: {**output, "exit": declared[name]} for name, output in self.data["outputs"].items()}


def load_rules(path: Path) -> AnswerRules:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise AnswerRulesError(f"{path} is missing: the mini project's answer boxes are checked with it") from None
    except json.JSONDecodeError as error:
        raise AnswerRulesError(f"{path}: not valid JSON ({error})") from None
    return AnswerRules(data, str(path))
