"""Stage 3, a page's run: its blocks in one sandboxed shell (``shell``) against a daemon (``session``), what the page
made there and removing exactly that (``ledger``), every request recorded when asked (``trace``), a terminal's screen
(``terminal``), every output scrubbed of what differs between machines (``scrub``).
Imports ``page``, ``engine`` and ``lab``; never ``capture``, ``render`` or the front doors."""
