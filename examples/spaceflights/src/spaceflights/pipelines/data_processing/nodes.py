"""Nodes of the ``data_processing`` pipeline.

Pure Python on purpose: rows are plain dicts, tables are lists of rows, so the
example runs anywhere Kedro runs (no pandas, no Spark).
"""

from __future__ import annotations

import csv
import io
from typing import Any

Row = dict[str, Any]


def _is_true(value: str) -> bool:
    return str(value).strip().lower() in {"t", "true", "1", "yes"}


def _parse_percentage(value: str) -> float | None:
    value = str(value).strip().rstrip("%")
    return float(value) / 100 if value else None


def _parse_money(value: str) -> float | None:
    value = str(value).strip().lstrip("$").replace(",", "")
    return float(value) if value else None


def _parse_float(value: Any) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    return float(value)


def parse_csv(text: str) -> list[Row]:
    """Parse CSV text (as loaded by ``text.TextDataset``) into a list of rows."""
    return [dict(row) for row in csv.DictReader(io.StringIO(text))]


def preprocess_companies(company_rows: list[Row]) -> list[Row]:
    """Type the company columns: ``"90%"`` -> ``0.9``, ``"t"`` -> ``True``."""
    return [
        {
            "id": int(row["id"]),
            "company_rating": _parse_percentage(row["company_rating"]),
            "company_location": row["company_location"],
            "total_fleet_count": _parse_float(row["total_fleet_count"]),
            "iata_approved": _is_true(row["iata_approved"]),
        }
        for row in company_rows
    ]


def preprocess_shuttles(shuttles: list[Row]) -> list[Row]:
    """Type the shuttle columns: ``"$1,325.0"`` -> ``1325.0``, ``"t"`` -> ``True``."""
    return [
        {
            "id": int(row["id"]),
            "company_id": int(row["company_id"]),
            "shuttle_type": row["shuttle_type"],
            "engine_type": row["engine_type"],
            "engines": _parse_float(row["engines"]),
            "passenger_capacity": _parse_float(row["passenger_capacity"]),
            "crew": _parse_float(row["crew"]),
            "d_check_complete": _is_true(row["d_check_complete"]),
            "moon_clearance_complete": _is_true(row["moon_clearance_complete"]),
            "price": _parse_money(row["price"]),
        }
        for row in shuttles
    ]


def preprocess_reviews(reviews: str) -> list[Row]:
    """Parse the reviews CSV and type its columns."""
    return [
        {
            "shuttle_id": int(row["shuttle_id"]),
            "review_scores_rating": _parse_float(row["review_scores_rating"]),
            "number_of_reviews": int(row["number_of_reviews"]),
        }
        for row in parse_csv(reviews)
    ]


def create_model_input_table(
    shuttles: list[Row],
    companies: list[Row],
    reviews: list[Row],
    columns: list[str],
) -> list[Row]:
    """Join shuttles with their company and reviews; keep complete rows only.

    Booleans become 0/1 so every kept column is numeric and the model can use it.
    Rows are sorted by shuttle id so the output is deterministic.
    """
    companies_by_id = {company["id"]: company for company in companies}
    reviews_by_shuttle = {review["shuttle_id"]: review for review in reviews}
    table = []
    for shuttle in sorted(shuttles, key=lambda s: s["id"]):
        company = companies_by_id.get(shuttle["company_id"])
        review = reviews_by_shuttle.get(shuttle["id"])
        if company is None or review is None:
            continue
        joined = {**review, **company, **shuttle}
        row = {"shuttle_id": shuttle["id"], "shuttle_type": shuttle["shuttle_type"]}
        for column in columns:
            value = joined.get(column)
            row[column] = float(value) if isinstance(value, bool) else value
        if all(row[column] is not None for column in columns):
            table.append(row)
    return table
