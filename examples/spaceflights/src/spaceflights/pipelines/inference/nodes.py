"""Nodes of the ``inference`` pipeline: price shuttles with the model ``data_science`` trained."""

from __future__ import annotations

from typing import Any

from spaceflights.pipelines.data_science.nodes import predict

Row = dict[str, Any]


def shuttle_features(shuttles: list[Row], regressor: dict[str, Any]) -> list[list[float]]:
    """The model's feature matrix for the shuttles, in the order the model was trained on.

    A shuttle without one of the model's features is an error naming it.
    """
    features = regressor["features"]
    matrix = []
    for index, shuttle in enumerate(shuttles):
        missing = [f for f in features if f not in shuttle]
        if missing:
            raise ValueError(f"shuttle {index} lacks feature(s) {', '.join(missing)}")
        matrix.append([float(shuttle[f]) for f in features])
    return matrix


def price_shuttles(
    regressor: dict[str, Any], features: list[list[float]], pricing: dict[str, Any]
) -> list[Row]:
    """One quote per shuttle: the model's price, less the ``discount`` fraction, rounded."""
    keep = 1.0 - float(pricing["discount"])
    return [
        {"price": round(price * keep, int(pricing["decimals"]))}
        for price in predict(regressor, features)
    ]
