"""Training: clip folders to bundles, and bundles to measured figures.

Dataset folders, group splits and the frame/feature caches (``dataset``), fitting a bundle
(``trainer``), clip-level evaluation (``evaluation``) and the approaches' comparison table
(``compare``). May import ``core.engine`` and everything below it.
"""
