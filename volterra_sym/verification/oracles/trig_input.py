"""The verification runs' test input: a sum of offset, cosine and sine per input channel, in mpmath
(for the oracles) and NumPy (for the engines)."""

from __future__ import annotations

from dataclasses import dataclass

import mpmath

__all__ = ["TrigInput"]


@dataclass(frozen=True)
class TrigInput:
    """u_c(s) = offset_c + cos_c cos(freq_c s) + sin_c sin(freq_c s), one entry per input channel."""

    offset: tuple[float, ...]
    cos: tuple[float, ...]
    sin: tuple[float, ...]
    freq: tuple[float, ...]

    def mp(self, s: object) -> list[object]:
        return [mpmath.mpf(a) + mpmath.mpf(b) * mpmath.cos(mpmath.mpf(w) * s) + mpmath.mpf(c) * mpmath.sin(mpmath.mpf(w) * s)
                for a, b, c, w in zip(self.offset, self.cos, self.sin, self.freq)]

    def numpy(self, times):
        import numpy

        t = numpy.asarray(times, dtype=numpy.float64)[..., None]
        return (numpy.asarray(self.offset) + numpy.asarray(self.cos) * numpy.cos(numpy.asarray(self.freq) * t)
                + numpy.asarray(self.sin) * numpy.sin(numpy.asarray(self.freq) * t))

    def describe(self) -> list[str]:
        return [f"{a!r} + {b!r}*cos({w!r}*t) + {c!r}*sin({w!r}*t)"
                for a, b, c, w in zip(self.offset, self.cos, self.sin, self.freq)]
