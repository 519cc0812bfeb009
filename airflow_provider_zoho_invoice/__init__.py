"""Apache Airflow provider for Zoho Invoice.

Airflow's providers manager imports this package on every start (its entry point is
``get_provider_info.get_provider_info``), so it imports nothing.
"""

__version__ = "0.1.0"
