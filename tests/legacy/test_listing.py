"""The legacy catalogue listing on pages made up in memory (no HTTP, no Airflow)."""

from __future__ import annotations

import logging

from airflow_provider_zoho_invoice.legacy.answers import PageContext, ZohoInvoiceItem
from airflow_provider_zoho_invoice.legacy.listing import list_catalogue

LOG = logging.getLogger("test")


def item(item_id: int) -> ZohoInvoiceItem:
    return ZohoInvoiceItem(str(item_id), f"Item {item_id}", None, None, None, None, None, None, None)


def test_the_legacy_catalogue_is_read_again_when_it_changed_during_the_listing():
    catalogue = list(range(1, 51))
    per_page = 10
    served = []

    def get_page(page: int) -> tuple[list[ZohoInvoiceItem], PageContext]:
        served.append(page)
        if len(served) == 3:  # an item on page 1 is deleted: everything after it shifts one place back
            catalogue.remove(5)
        start = (page - 1) * per_page
        total = len(catalogue)
        context = PageContext(page=page, per_page=per_page, total=total, total_pages=-(-total // per_page))
        return [item(i) for i in catalogue[start : start + per_page]], context

    got = [
        int(i.item_id)
        for i in list_catalogue(get_page, per_page=per_page, max_items=None, concurrency=1, log=LOG)
    ]
    assert sorted(got) == sorted(set(got)) and set(range(1, 51)) - {5} <= set(got)
