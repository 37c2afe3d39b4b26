"""Stage 5, what the page shows: markers replaced by outputs and stamps (``markers``), prose quotes checked against
the outputs (``quotes``), the walk-through of each output line (``walkthrough``), the recorded request sequence
(``sequence``) and the output fence (``fences``). Imports ``capture`` and below."""
