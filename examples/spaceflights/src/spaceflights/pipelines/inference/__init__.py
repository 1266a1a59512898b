"""The ``inference`` pipeline: price shuttles described in a request with the trained model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
