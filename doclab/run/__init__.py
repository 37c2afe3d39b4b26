"""Stage 3, a page's run: its blocks in one sandboxed shell (``shell``) against a daemon (``session``), every
request recorded when asked (``trace``), every output scrubbed of what differs between machines (``scrub``).
Imports ``page``, ``engine`` and ``lab``; never ``capture``, ``render`` or the front doors."""
