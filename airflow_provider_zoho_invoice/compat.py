"""The one place that knows where Airflow keeps its base classes.

Supporting another Airflow line means changing this file only. Names resolve on
first use, so importing an operator module does not pull in trigger machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import (
        Asset,
        BaseHook,
        BaseOperator,
        BaseSensorOperator,
        Connection,
        Context,
        ObjectStoragePath,
        PokeReturnValue,
        conf,
    )
    from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout
    from airflow.sdk.log import mask_secret
    from airflow.triggers.base import BaseTrigger, TriggerEvent

# name -> candidate modules, newest Airflow first.
_LOCATIONS: dict[str, tuple[str, ...]] = {
    "Asset": ("airflow.sdk",),
    "BaseHook": ("airflow.sdk", "airflow.hooks.base"),
    "BaseOperator": ("airflow.sdk",),
    "BaseSensorOperator": ("airflow.sdk", "airflow.sensors.base"),
    "Connection": ("airflow.sdk", "airflow.models.connection"),
    "Context": ("airflow.sdk",),
    "ObjectStoragePath": ("airflow.sdk", "airflow.io.path"),
    "PokeReturnValue": ("airflow.sdk", "airflow.sensors.base"),
    "conf": ("airflow.sdk", "airflow.configuration"),
    "AirflowFailException": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "AirflowSensorTimeout": ("airflow.sdk.exceptions", "airflow.exceptions"),
    "mask_secret": ("airflow.sdk.log", "airflow.sdk.execution_time.secrets_masker"),
    "BaseTrigger": ("airflow.triggers.base",),
    "TriggerEvent": ("airflow.triggers.base",),
}

__all__ = [
    "AirflowFailException",
    "AirflowSensorTimeout",
    "Asset",
    "BaseHook",
    "BaseOperator",
    "BaseSensorOperator",
    "BaseTrigger",
    "Connection",
    "Context",
    "ObjectStoragePath",
    "PokeReturnValue",
    "TriggerEvent",
    "aget_connection",
    "conf",
    "mask_secret",
    "mask_secrets",
]


def mask_secrets(*values: str | None) -> None:
    """Register run-time secrets with Airflow's masker (it masks only inside a running task)."""
    masker: Any = __getattr__("mask_secret")
    for value in values:
        if value:
            masker(value)


async def aget_connection(conn_id: str) -> Connection:
    """Fetch a connection without blocking the event loop (the triggerer's)."""
    base_hook: Any = __getattr__("BaseHook")
    if hasattr(base_hook, "aget_connection"):  # Airflow 3.1+
        connection: Connection = await base_hook.aget_connection(conn_id)
        return connection
    from asgiref.sync import sync_to_async  # Airflow 3.0's way, which its triggerer supports

    fetched: Connection = await sync_to_async(base_hook.get_connection)(conn_id)
    return fetched


def __getattr__(name: str) -> Any:
    candidates = _LOCATIONS.get(name)
    if candidates is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module_name in candidates:
        try:
            value = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):
            continue
        globals()[name] = value
        return value
    raise ImportError(f"{name} is not available in this Airflow version (looked in {', '.join(candidates)})")
