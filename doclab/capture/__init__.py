"""Stage 4, the records: the checksummed record of a page (``record``), running the pages that must run and where
(``runner``), which must run and what is shown when none can (``engine``: the ``Captures`` every front door
uses), and the facts two outputs are compared by (``facts``). Imports ``run`` and below."""
