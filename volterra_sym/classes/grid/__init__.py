"""The grid engine: kernels of any SRNN with 1-3 hidden units from its Fokker-Planck operator.

No closed form of the invariant density is needed. :mod:`.box` finds coordinates and a box from the
linearization, the noise and the density itself; :mod:`.operator` discretises the backward generator
there (Fourier collocation of its Gaussian-weighted form) and finds the stationary density as the
null vector of the discretised adjoint; :mod:`.expmv` applies the discrete semigroup (Taylor
matrix-exponential actions, no eigenvectors: the operator is not self-adjoint); :mod:`.kernels`
runs the backward recursion of theory.md 3(b); :mod:`.dynamics` integrates the driven equation
(series terms and the all-order driven mean); :mod:`.build` refines the grid until the kernels
converge; :mod:`.engine` is the engine and :mod:`.symbolic` its symbolic data.
"""
