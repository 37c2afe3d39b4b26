"""Stage 1, the page: a Markdown file read into blocks, markers and quotes (``parse``), with the line each
came from. Pure text: imports only ``doclab.errors`` and ``doclab.settings``."""
