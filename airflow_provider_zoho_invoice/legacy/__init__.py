"""The legacy Zoho Invoice API (authtoken + API key, XML), retired by Zoho in 2021 and kept by the emulator.

Nothing here imports Airflow.
"""
