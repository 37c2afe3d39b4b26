"""Stage 1, the lesson: the answer rules of the mini project's exercises (``answers``, shared with the page's
JavaScript) and the lesson's values (``values``). Pure text: imports only ``doclab.errors`` and ``doclab.settings``."""
