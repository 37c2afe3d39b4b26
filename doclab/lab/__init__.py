"""Stage 2, the offline lab: a registry seeded with the lesson's base image and Docker daemons that pull through
it, each page daemon in a network namespace of its own (``control``: the ``Lab`` facade and ``python -m doclab.lab``),
with the registry's seed (``seed``), the minirootfs it is made from (``rootfs``), port forwarding (``forward``) and the
daemons' authorization plugin (``authz``). Imports the stages below it (``doclab.engine``), never ``run`` or higher."""
