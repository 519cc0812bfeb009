"""The connection forms for Airflow 3.1, which reads hook methods instead of ``conn-fields``.

Airflow 3.1 calls ``get_connection_form_widgets`` with stand-ins for wtforms and Flask-AppBuilder,
so the imports happen inside :func:`form_widgets`, never at module import. Airflow 3.2+ reads the
provider info's ``conn-fields`` and ignores these methods. Both are built from the same
declaration in ``get_provider_info``, so the two forms cannot drift apart.
"""

from __future__ import annotations

import copy
from typing import Any


def _connection_type(conn_type: str) -> dict[str, Any]:
    from airflow_provider_zoho_invoice.get_provider_info import get_provider_info

    for entry in get_provider_info()["connection-types"]:
        if entry["connection-type"] == conn_type:
            found: dict[str, Any] = entry
            return found
    raise KeyError(conn_type)


def form_widgets(conn_type: str) -> dict[str, Any]:
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import PasswordField, StringField

    widgets: dict[str, Any] = {}
    for name, field in _connection_type(conn_type)["conn-fields"].items():
        secret = field["schema"].get("format") == "password"
        kind, widget = (
            (PasswordField, BS3PasswordFieldWidget) if secret else (StringField, BS3TextFieldWidget)
        )
        widgets[name] = kind(lazy_gettext(field["label"]), widget=widget(), description=field["description"])
    return widgets


def field_behaviour(conn_type: str) -> dict[str, Any]:
    """The provider info's ``ui-field-behaviour``, with the hook method's key names (underscores)."""
    declared = _connection_type(conn_type)["ui-field-behaviour"]
    return {key.replace("-", "_"): copy.deepcopy(value) for key, value in declared.items()}
