"""Stage 4, the records: which pages must run, where, and what is shown when none can (``engine``: the
checksummed records and the ``CaptureEngine`` every front door uses), and the facts two outputs are compared by
(``facts``). Imports ``run`` and below."""
