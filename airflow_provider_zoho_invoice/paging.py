"""Pages fetched ahead by worker threads and handed on in order; shared by both protocols.

The caller owns what a page means: ``fetch(n)`` reads page ``n`` and ``may_fetch(n)`` says
whether page ``n`` is worth asking for, given what the pages handed on so far have said (the
legacy API's page count, v3's ``has_more_page``). Nothing here knows HTTP or Zoho.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def pages_in_order(
    fetch: Callable[[int], T],
    *,
    start: int,
    workers: int,
    may_fetch: Callable[[int], bool],
    queued: int | None = None,
    abandoned: threading.Event | None = None,
) -> Generator[T, None, None]:
    """``fetch(start)``, ``fetch(start + 1)``, ... in order, with up to ``queued`` pages under way.

    ``may_fetch`` is asked before each page is queued; it sees what the caller learnt from the
    pages already handed on. When the caller stops iterating, queued pages are cancelled and
    ``abandoned`` is set, so that pages already running can give up (no retry, no backoff);
    they are not waited for, and their answers are dropped unread. With one worker, pages are
    read in the calling thread, one at a time.
    """
    page = start
    if workers == 1:
        while may_fetch(page):
            yield fetch(page)
            page += 1
        return
    depth = queued or workers
    in_flight: deque[Future[T]] = deque()
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoho-invoice-page")
    try:
        while True:
            while len(in_flight) < depth and may_fetch(page):
                in_flight.append(executor.submit(fetch, page))
                page += 1
            if not in_flight:
                return
            yield in_flight.popleft().result()
    finally:
        if abandoned is not None:
            abandoned.set()
        for future in in_flight:
            future.cancel()
        executor.shutdown(wait=False, cancel_futures=True)


class RecentIds:
    """IDs of the last few pages: offset pages shift by a record or two when Zoho changes under a listing.

    A record seen on one page may show up again on the next; remembering a few pages drops
    the repeat at a cost that does not grow with the listing.
    """

    def __init__(self, pages: int = 3) -> None:
        self._pages: deque[set[Any]] = deque(maxlen=pages)

    def new_page(self) -> None:
        self._pages.append(set())

    def add_if_new(self, record_id: Any) -> bool:
        if record_id is None:
            return True
        if any(record_id in page for page in self._pages):
            return False
        self._pages[-1].add(record_id)
        return True
