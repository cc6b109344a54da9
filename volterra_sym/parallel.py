"""Chunked Monte-Carlo work, serial or on a Dask cluster, with the same numbers either way.

A Monte-Carlo estimator splits its paths into chunks whose random streams depend only on the seed
and the chunk's own index (children of one :class:`numpy.random.SeedSequence`), computes small
per-chunk statistics with a pure function, and combines them in chunk order. :func:`map_chunks`
runs such a function over the chunks, in this process or as Dask tasks, and returns the results
in chunk order: the combined numbers are bit-identical whatever the number of workers.

Dask (``dask.distributed``) is an optional extra, ``pip install 'volterra-sym[dask]'``, imported
only by :func:`open_client` and when a client is passed.

>>> map_chunks(lambda shared, chunk, tick: shared * chunk, 10, [1, 2, 3])
[10, 20, 30]
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .errors import InputError
from .progress import progress_bar

__all__ = ["map_chunks", "open_client", "require_distributed", "DASK_EXTRA", "IN_FLIGHT_PER_WORKER"]

#: the optional extra that brings dask.distributed
DASK_EXTRA = "volterra-sym[dask]"
#: tasks submitted ahead per worker thread: bounds the memory of queued inputs and pending results
IN_FLIGHT_PER_WORKER = 4


def require_distributed(field: str = "client") -> Any:
    """The ``distributed`` module, or an :class:`InputError` (on ``field``) naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise InputError(f"running on a Dask cluster needs dask.distributed: pip install '{DASK_EXTRA}'",
                         field=field) from None
    return distributed


@contextlib.contextmanager
def open_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: on a new local cluster of ``workers`` single-threaded processes, or
    connected to the scheduler at ``scheduler`` (e.g. ``"tcp://10.0.0.1:8786"``); ``None`` when
    neither is given (serial). The local cluster is closed on exit."""
    if workers is None and scheduler is None:
        yield None
        return
    if workers is not None and scheduler is not None:
        raise InputError("give either a number of local workers or a scheduler address, not both", field="workers")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 1024):
        raise InputError(f"workers {workers!r} must be an integer in 1..1024", field="workers")
    distributed = require_distributed("workers" if workers is not None else "scheduler")
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as err:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r}: {err}", field="scheduler") from None
        with client:
            yield client
        return
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        yield client


def map_chunks(func: Callable[[Any, Any, Callable[[int], None]], Any], shared: Any, chunks: Sequence[Any], *,
               client: Any = None, progress: bool = False, desc: str = "chunks",
               units: Callable[[Any], int] | None = None, unit: str = "chunk") -> list:
    """``[func(shared, chunk, tick) for chunk in chunks]``, serially or as Dask tasks on ``client``.

    ``func`` must be pure (its result depends on its arguments only) and, for a cluster, picklable;
    ``shared`` is sent to the workers once. ``tick(n)`` advances the progress bar by n units while a
    chunk runs in this process (a no-op on a worker, where the bar advances by ``units(chunk)`` when
    the chunk completes; default one unit per chunk). At most :data:`IN_FLIGHT_PER_WORKER` tasks
    per worker thread are queued at a time, so the memory in flight is bounded by the chunk size.
    Results come back in chunk order.
    """
    units = units or (lambda chunk: 1)
    total = sum(units(c) for c in chunks)
    with progress_bar(total, enabled=progress, desc=desc, unit=unit) as bar:
        if client is None:
            return [func(shared, chunk, bar.update) for chunk in chunks]
        distributed = require_distributed()
        if not isinstance(client, distributed.Client):
            raise InputError(f"client must be a dask.distributed.Client, got {type(client).__name__}", field="client")
        threads = max(1, sum(client.nthreads().values()))
        shared_future = client.scatter(shared, broadcast=True, hash=False)
        results: list = [None] * len(chunks)
        pending = distributed.as_completed()
        in_flight: dict = {}  # future key -> (chunk index, future)
        queued = iter(range(len(chunks)))

        def submit(i: int) -> None:
            future = client.submit(_run_chunk, func, shared_future, chunks[i], pure=False)
            in_flight[future.key] = (i, future)
            pending.add(future)

        for i in queued:
            submit(i)
            if len(in_flight) >= IN_FLIGHT_PER_WORKER * threads:
                break
        try:
            for future in pending:
                i, _ = in_flight.pop(future.key)
                results[i] = future.result()
                future.release()
                bar.update(units(chunks[i]))
                following = next(queued, None)
                if following is not None:
                    submit(following)
        finally:
            if in_flight:
                client.cancel([future for _, future in in_flight.values()])
        return results


def _run_chunk(func: Callable, shared: Any, chunk: Any) -> Any:
    return func(shared, chunk, _no_tick)


def _no_tick(n: int = 1) -> None:
    pass
