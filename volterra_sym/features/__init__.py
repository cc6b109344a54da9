"""The response feature and the kernel machine (theory.md 6).

:mod:`.signature` (path signatures; :mod:`.chen` holds their pysiglib and NumPy backends),
:mod:`.basis` (support bases), :mod:`.feature` (the feature of an input), :mod:`.represent` (readout coefficients: the mean output as a linear functional of the
feature), :mod:`.augmented` (the time-augmented form), :mod:`.machine` (signature kernels) and
:mod:`.estimator` (``SignatureKernelRidge``, scikit-learn).
"""
