"""Nodes of the ``reporting`` pipeline: small summaries written as JSON and Markdown."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def summarise_shuttle_prices(model_input_table: list[Row], group_by: str) -> dict[str, Any]:
    """Count and price statistics per group (``shuttle_type`` by default), sorted by key."""
    groups: dict[str, list[float]] = {}
    for row in model_input_table:
        groups.setdefault(str(row[group_by]), []).append(float(row["price"]))
    return {
        "group_by": group_by,
        "groups": {
            key: {
                "count": len(prices),
                "mean_price": round(sum(prices) / len(prices), 2),
                "min_price": min(prices),
                "max_price": max(prices),
            }
            for key, prices in sorted(groups.items())
        },
    }


def compare_models(
    active_metrics: dict[str, Any], candidate_metrics: dict[str, Any]
) -> dict[str, Any]:
    """Put both models' scores side by side and name the better one (higher R²)."""
    models = {"active": active_metrics, "candidate": candidate_metrics}
    best = max(models, key=lambda name: (models[name]["r2_score"], name == "active"))
    return {
        "best_model": best,
        "models": {
            name: {k: m[k] for k in ("r2_score", "mae", "rmse", "n_test")}
            for name, m in models.items()
        },
    }


def write_report(price_summary: dict[str, Any], model_comparison: dict[str, Any]) -> str:
    """Render a short Markdown report."""
    lines = ["# Spaceflights report", "", f"## Prices by {price_summary['group_by']}", ""]
    lines += ["| group | shuttles | mean price | min | max |", "| --- | ---: | ---: | ---: | ---: |"]
    for key, stats in price_summary["groups"].items():
        lines.append(
            f"| {key} | {stats['count']} | {stats['mean_price']:.2f} "
            f"| {stats['min_price']:.2f} | {stats['max_price']:.2f} |"
        )
    lines += ["", "## Models", "", "| model | R² | MAE | RMSE | test rows |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, m in model_comparison["models"].items():
        lines.append(
            f"| {name} | {m['r2_score']:.3f} | {m['mae']:.2f} | {m['rmse']:.2f} | {m['n_test']} |"
        )
    lines += ["", f"Best model: **{model_comparison['best_model']}**", ""]
    return "\n".join(lines)
