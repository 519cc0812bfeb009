"""Pages fetched ahead by worker threads come out in order (no HTTP, no Airflow)."""

from __future__ import annotations

import random
import threading
import time

from airflow_provider_zoho_invoice.paging import RecentIds, pages_in_order


def test_pages_in_order_keeps_the_order_of_slow_workers():
    def fetch(page: int) -> int:
        time.sleep(random.random() * 0.01)
        return page

    assert list(pages_in_order(fetch, start=1, workers=4, may_fetch=lambda page: page <= 40)) == list(
        range(1, 41)
    )


def test_stopping_early_cancels_what_is_queued():
    asked = []

    def fetch(page: int) -> int:
        asked.append(page)
        time.sleep(0.01)
        return page

    pages = pages_in_order(fetch, start=1, workers=2, may_fetch=lambda page: True, queued=4)
    assert [next(pages) for _ in range(3)] == [1, 2, 3]
    pages.close()
    assert len(asked) <= 3 + 4  # what was queued when the caller stopped, no more


def test_stopping_abandons_running_pages_without_waiting_for_them():
    abandoned, answer_arrives = threading.Event(), threading.Event()
    finished = []

    def fetch(page: int) -> int:
        if page > 2:
            answer_arrives.wait(10)  # a slow page past the end
        finished.append(page)
        return page

    pages = pages_in_order(fetch, start=1, workers=4, may_fetch=lambda page: True, abandoned=abandoned)
    assert [next(pages), next(pages)] == [1, 2]
    pages.close()
    assert abandoned.is_set()
    assert finished == [1, 2]  # closing did not wait for the pages still under way
    answer_arrives.set()


def test_the_duplicate_window_forgets_old_pages():
    recent = RecentIds(pages=2)
    recent.new_page()
    assert recent.add_if_new("a") and not recent.add_if_new("a")
    recent.new_page()
    assert not recent.add_if_new("a")
    recent.new_page()
    assert recent.add_if_new("a")  # two pages later it is out of the window
