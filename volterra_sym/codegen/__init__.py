"""Code generation: stamped, standalone NumPy modules through Jinja2 templates.

Make text (:mod:`.lower` -> :mod:`.printing` -> :mod:`.render`, or :mod:`.spectral` for a numeric
representation), write files (:mod:`.pipeline`, atomically), import them (:mod:`.loader`); the stamp is
:mod:`.stamp` and the public conformance suite :mod:`.conformance`.
"""
