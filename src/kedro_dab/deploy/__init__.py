"""Deploy engines (Databricks CLI or pure-Python SDK), runs, and the calls they share."""
