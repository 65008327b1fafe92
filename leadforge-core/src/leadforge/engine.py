"""Where shards run: in this process, or on Dask distributed workers.

Shards are independent by construction (their bytes depend on the config and their index
only), so running them elsewhere needs no scheduler of our own: one worker runs them here,
in order, without importing Dask; more workers (``--workers N``) start a local Dask cluster of
``N`` single-threaded worker processes, and ``--scheduler ADDRESS`` uses a running cluster.
Results always come back in item order, so nothing downstream depends on which worker ran a
shard or when it finished.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from leadforge.errors import UsageError

T = TypeVar("T")
R = TypeVar("R")

#: More local workers than this is a typo, not a machine.
MAX_WORKERS = 256
#: Tasks per worker for a ``light`` map: enough to balance the load, few enough that Dask's
#: own cost per task (a few milliseconds of scheduler and transfer) stays small.
LIGHT_TASKS_PER_WORKER = 4
INSTALL_HINT = "pip install 'leadforge-core[dask]'"
#: Dask settings for the cluster ``--workers`` starts. Its nannies set MALLOC_TRIM_THRESHOLD_=65536
#: in the workers' environment, which makes glibc hand every large numpy buffer back to the OS
#: (shards ran 3x slower); and each worker samples its own stacks every 10 ms for a dashboard
#: nobody opens here.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}


class Engine(Protocol):
    """Runs ``fn(item, *args)`` for every item and returns the results in item order.

    ``light=True`` says each item takes milliseconds (hashing a file, reading one part's keys):
    an engine may then run several items per task, since one task each would cost more in
    scheduling than in work. Results and their order are the same either way.
    """

    @property
    def workers(self) -> int: ...

    def map(
        self,
        fn: Callable[..., R],
        items: Sequence[Any],
        *args: Any,
        progress: Callable[[int, int], None] | None = None,
        light: bool = False,
    ) -> list[R]: ...

    def start(self, fn: Callable[..., R], items: Sequence[Any], *args: Any) -> Callable[[], list[R]]:
        """Begin ``map(fn, items, *args)``; calling the result waits for it (an engine that runs
        elsewhere works meanwhile, the in-process one runs it then)."""
        ...

    def share(self, obj: T) -> T:
        """``obj`` as an argument every task can use, sent to each worker once."""
        ...


@dataclass(frozen=True)
class LocalEngine:
    """In this process, one item after the other."""

    @property
    def workers(self) -> int:
        return 1

    def map(
        self,
        fn: Callable[..., R],
        items: Sequence[Any],
        *args: Any,
        progress: Callable[[int, int], None] | None = None,
        light: bool = False,
    ) -> list[R]:
        out: list[R] = []
        for item in items:
            out.append(fn(item, *args))
            if progress is not None:
                progress(len(out), len(items))
        return out

    def start(self, fn: Callable[..., R], items: Sequence[Any], *args: Any) -> Callable[[], list[R]]:
        return partial(self.map, fn, items, *args)

    def share(self, obj: T) -> T:
        return obj


LOCAL = LocalEngine()


class DaskEngine:
    """On the workers of a Dask distributed ``Client``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info().get("workers", {})) or 1

    def map(
        self,
        fn: Callable[..., R],
        items: Sequence[Any],
        *args: Any,
        progress: Callable[[int, int], None] | None = None,
        light: bool = False,
    ) -> list[R]:
        import distributed

        as_completed: Any = distributed.as_completed
        futures, groups = self._submit(fn, items, args, light)
        size = {f.key: len(g) for f, g in zip(futures, groups, strict=True)}
        try:
            done = 0
            for future in as_completed(futures):
                if future.status == "error":
                    future.result()  # re-raises the task's own exception here
                done += size[future.key]
                if progress is not None:
                    progress(done, len(items))
            return _ungrouped(futures, groups, len(items))
        finally:
            self.client.cancel(futures)

    def start(self, fn: Callable[..., R], items: Sequence[Any], *args: Any) -> Callable[[], list[R]]:
        futures, groups = self._submit(fn, items, args, False)

        def results() -> list[R]:
            try:
                return _ungrouped(futures, groups, len(items))
            finally:
                self.client.cancel(futures)

        return results

    def _submit(
        self, fn: Callable[..., R], items: Sequence[Any], args: tuple[Any, ...], light: bool
    ) -> tuple[list[Any], list[list[int]]]:
        tag = secrets.token_hex(4)
        name = getattr(fn, "__name__", "task")
        groups = _interleaved(len(items), self.workers * LIGHT_TASKS_PER_WORKER if light else len(items))
        futures = [
            self.client.submit(
                _run_group,
                fn,
                [items[i] for i in group],
                *args,
                key=f"leadforge-{name}-{tag}-{k}",
                pure=False,
            )
            for k, group in enumerate(groups)
        ]
        return futures, groups

    def share(self, obj: T) -> T:
        shared: T = self.client.scatter(obj, broadcast=True, hash=False)
        return shared


def _interleaved(n: int, tasks: int) -> list[list[int]]:
    """Item indices ``0 … n-1`` dealt round-robin into at most ``tasks`` groups, so each group
    mixes items from every part of the list (neighbouring items are often alike in cost)."""
    count = max(1, min(n, tasks))
    return [list(range(k, n, count)) for k in range(count)] if n else []


def _run_group(fn: Callable[..., R], items: list[Any], *args: Any) -> list[R]:
    return [fn(item, *args) for item in items]


def _ungrouped(futures: list[Any], groups: list[list[int]], n: int) -> list[Any]:
    """The groups' results (``future.result()`` re-raises a task's own error) in item order."""
    out: list[Any] = [None] * n
    for future, group in zip(futures, groups, strict=True):
        for i, result in zip(group, future.result(), strict=True):
            out[i] = result
    return out


def check_workers(workers: int, scheduler: str | None) -> None:
    """Refuse a worker count or scheduler combination before anything runs."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise UsageError(f"--workers must be an integer from 1 to {MAX_WORKERS}, got {workers!r}")
    if scheduler is not None:
        if workers != 1:
            raise UsageError("--workers starts a local cluster; it cannot be combined with --scheduler")
        if not isinstance(scheduler, str) or not scheduler.strip():
            raise UsageError("--scheduler needs an address such as tcp://host:8786")


@contextmanager
def open_engine(
    workers: int = 1, scheduler: str | None = None, *, check_path: Path | None = None
) -> Iterator[Engine]:
    """The engine for ``workers`` / ``scheduler``; a cluster it starts is shut down on exit.

    ``check_path`` is a folder every worker must see (the bundle's parent): it is probed up
    front, so a cluster that does not share the filesystem is refused before simulating.
    """
    check_workers(workers, scheduler)
    if workers == 1 and scheduler is None:
        yield LOCAL
        return
    try:
        import distributed
    except ImportError:
        raise UsageError(f"running on several workers needs Dask: {INSTALL_HINT}") from None
    Client: Any = distributed.Client
    LocalCluster: Any = distributed.LocalCluster
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            if check_path is not None:
                _probe(client, check_path)
            yield DaskEngine(client)
        finally:
            client.close()
        return
    import dask

    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            memory_limit=0,
        )
    try:
        client = Client(cluster)
        try:
            if check_path is not None:
                _probe(client, check_path)
            yield DaskEngine(client)
        finally:
            client.close()
    finally:
        cluster.close()


def _sees(path: str, token: str) -> bool:
    """On a worker: can it read the driver's probe file and write next to it?"""
    probe = Path(path)
    try:
        if probe.read_text() != token:
            return False
        mine = probe.with_name(f"{probe.name}.{os.getpid()}.{secrets.token_hex(4)}")
        mine.write_text(token)
        mine.unlink()
    except OSError:
        return False
    return True


def _probe(client: Any, folder: Path) -> None:
    token = secrets.token_hex(16)
    probe = Path(os.path.abspath(folder)) / f".leadforge-probe-{token[:12]}"
    try:
        probe.write_text(token)
    except OSError as exc:
        raise UsageError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    try:
        seen = client.run(_sees, str(probe), token)
    finally:
        probe.unlink(missing_ok=True)
    blind = sorted(w for w, ok in seen.items() if not ok)
    if not seen:
        raise UsageError("the Dask cluster has no workers")
    if blind:
        raise UsageError(
            f"{len(blind)} Dask worker(s) cannot read and write {folder} (e.g. {blind[0]}); "
            "workers must share the filesystem of --out"
        )
