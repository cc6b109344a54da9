"""Reports: :mod:`.build` computes every number, :mod:`.tables` and :mod:`.figures` render them,
:mod:`.write` writes the folder; :mod:`.present` shows a derivation (``derive``)."""
