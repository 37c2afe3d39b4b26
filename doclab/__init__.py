"""doclab: run the commands a documentation page shows, for real, and keep what they printed.

A plain library: no MkDocs import. ``hooks/captures.py`` (MkDocs) and ``tests/docs`` (Sybil)
are thin adapters over it; ``python -m doclab.lab`` runs the offline lab.
"""
