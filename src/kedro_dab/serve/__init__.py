"""Serving: a Kedro pipeline as an HTTP endpoint, locally (`kedro dab serve`) and as a
Databricks app. Importing this package loads no web framework."""
