"""Zoho Invoice API v3 (JSON, OAuth 2.0, organizations, data centres): what every current account uses.

Nothing here imports Airflow; importing this package imports none of its modules.
"""
