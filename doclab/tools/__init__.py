"""Stage 6, tools around the engine: ``serve`` (the preview with the right Docker), ``bench`` (build timings) and
``linkcheck`` (the built site's links and hosts). Import anything below; nothing imports them but the front doors."""
