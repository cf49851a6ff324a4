"""Generated parts of the documentation: diagrams, findings tables and the cost page.

Everything here reads one synthesized app (templates, construct tree, acknowledgements), so
the pages say what the code builds. ``python -m tools.docgen`` writes the blocks between the
``BEGIN GENERATED``/``END GENERATED`` markers of the pages; ``--check`` reports stale ones.
"""
