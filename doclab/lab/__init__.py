"""Stage 2, the offline lab: a registry seeded with the lesson's base image and Docker daemons that pull through it,
each page daemon in a network namespace of its own. ``control`` is the ``Lab`` facade and ``python -m doclab.lab``;
behind it ``folder`` (paths, and what the lab may remove), ``services`` (registry, authorization plugin ``authz``),
``daemons``, ``pool``, ``network``, ``processes`` and ``pagefolders``; the registry's seed (``seed``), the minirootfs it
is made from (``rootfs``) and port forwarding (``forward``). Imports ``doclab.daemon`` below it, never ``run`` or higher."""
