"""Page bodies the emulator has already written: serving a page again costs no encoding.

Keys carry the data set's version, so a change to the data never serves a stale page.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

PAGE_CACHE_SIZE = 256


class PageCache:
    """A small least-recently-used map from a page's key to its body, safe across threads."""

    def __init__(self, size: int = PAGE_CACHE_SIZE) -> None:
        self.size = size
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        with self._lock:
            self._bodies[key] = body
            while len(self._bodies) > self.size:
                self._bodies.popitem(last=False)
