"""Fixtures for the end-to-end tests: the loopback fake Databricks workspace."""

from tests.fake_workspace.fixture import fake_workspace

__all__ = ["fake_workspace"]
