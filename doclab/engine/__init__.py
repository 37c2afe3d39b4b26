"""Stage 1, the Docker Engine as doclab reaches it: its facts, images and containers over the API (``daemon``) and
whether a daemon that is not doclab's own is clean enough to run a page (``guard``). Imports only ``doclab.errors``
and ``doclab.settings`` (and the docker SDK)."""
