"""Shared helpers for kedro-dab tests: bundle schema validation and real Kedro projects."""
