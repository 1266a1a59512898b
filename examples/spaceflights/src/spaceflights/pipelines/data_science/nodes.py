"""Nodes of the ``data_science`` pipeline: a ridge-regularised linear model in pure Python."""

from __future__ import annotations

import logging
import math
import random
from typing import Any

logger = logging.getLogger(__name__)

Row = dict[str, Any]


def split_data(
    model_input_table: list[Row], model_options: dict[str, Any]
) -> tuple[list[list[float]], list[list[float]], list[float], list[float]]:
    """Split the table into train and test features and targets.

    The shuffle uses ``random.Random(random_state)``, so the split is deterministic.
    """
    features = model_options["features"]
    target = model_options["target"]
    rows = list(model_input_table)
    random.Random(model_options["random_state"]).shuffle(rows)
    n_test = max(1, round(len(rows) * model_options["test_size"]))
    test, train = rows[:n_test], rows[n_test:]

    def x(part: list[Row]) -> list[list[float]]:
        return [[float(row[f]) for f in features] for row in part]

    def y(part: list[Row]) -> list[float]:
        return [float(row[target]) for row in part]

    return x(train), x(test), y(train), y(test)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Solve ``matrix @ x = vector`` by Gaussian elimination with partial pivoting."""
    n = len(vector)
    a = [list(row) + [v] for row, v in zip(matrix, vector)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        if abs(a[col][col]) < 1e-12:
            raise ValueError("Singular system: add regularisation or drop a feature.")
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, n + 1):
                a[r][c] -= factor * a[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x


def train_model(
    X_train: list[list[float]], y_train: list[float], model_options: dict[str, Any]
) -> dict[str, Any]:
    """Fit ``price ~ intercept + sum(coef * standardised feature)`` with an L2 penalty.

    The model is a plain dict (pickled by ``pickle.PickleDataset``), so loading it
    needs no project code.
    """
    features = model_options["features"]
    alpha = float(model_options.get("alpha", 0.0))
    n, k = len(X_train), len(features)
    means = [sum(row[j] for row in X_train) / n for j in range(k)]
    scales = [
        math.sqrt(sum((row[j] - means[j]) ** 2 for row in X_train) / n) or 1.0
        for j in range(k)
    ]
    design = [[1.0] + [(row[j] - means[j]) / scales[j] for j in range(k)] for row in X_train]
    gram = [
        [sum(d[a] * d[b] for d in design) + (alpha if a == b and a > 0 else 0.0) for b in range(k + 1)]
        for a in range(k + 1)
    ]
    rhs = [sum(d[a] * t for d, t in zip(design, y_train)) for a in range(k + 1)]
    weights = _solve(gram, rhs)
    return {
        "features": list(features),
        "intercept": weights[0],
        "coefficients": weights[1:],
        "means": means,
        "scales": scales,
        "n_train": n,
    }


def predict(regressor: dict[str, Any], X: list[list[float]]) -> list[float]:
    return [
        regressor["intercept"]
        + sum(
            c * (v - m) / s
            for c, v, m, s in zip(
                regressor["coefficients"], row, regressor["means"], regressor["scales"]
            )
        )
        for row in X
    ]


def evaluate_model(
    regressor: dict[str, Any], X_test: list[list[float]], y_test: list[float]
) -> dict[str, Any]:
    """Score the model on the test split (R², MAE, RMSE), rounded for stable output."""
    predictions = predict(regressor, X_test)
    errors = [p - t for p, t in zip(predictions, y_test)]
    mean_y = sum(y_test) / len(y_test)
    ss_res = sum(e * e for e in errors)
    ss_tot = sum((t - mean_y) ** 2 for t in y_test) or 1.0
    metrics = {
        "r2_score": round(1 - ss_res / ss_tot, 6),
        "mae": round(sum(abs(e) for e in errors) / len(errors), 6),
        "rmse": round(math.sqrt(ss_res / len(errors)), 6),
        "n_train": regressor["n_train"],
        "n_test": len(y_test),
        "features": regressor["features"],
        "coefficients": {
            f: round(c, 6) for f, c in zip(regressor["features"], regressor["coefficients"])
        },
    }
    logger.info("Model has a coefficient R^2 of %.3f on test data.", metrics["r2_score"])
    return metrics
