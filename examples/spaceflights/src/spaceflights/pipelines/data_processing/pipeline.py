"""The ``data_processing`` pipeline: clean the raw inputs and join them.

Grouping for Databricks (see ``conf/base/dab.yml``):

* the four cleaning nodes carry the tag ``task.preprocess`` and become one task,
  ``preprocess``. ``company_rows`` is produced and consumed inside that task, so it
  can stay in memory; the three cleaned tables leave it and are persisted.
* ``create_model_input_table_node`` matches no grouping rule, so it becomes a task
  of its own. It is tagged ``heavy``, which selects per-task settings in ``dab.yml``.
"""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import (
    create_model_input_table,
    parse_csv,
    preprocess_companies,
    preprocess_reviews,
    preprocess_shuttles,
)


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                func=parse_csv,
                inputs="companies",
                outputs="company_rows",  # in memory: stays inside task "preprocess"
                name="parse_companies_node",
                tags=["task.preprocess"],
            ),
            node(
                func=preprocess_companies,
                inputs="company_rows",
                outputs="preprocessed_companies",
                name="preprocess_companies_node",
                tags=["task.preprocess"],
            ),
            node(
                func=preprocess_shuttles,
                inputs="shuttles",
                outputs="preprocessed_shuttles",
                name="preprocess_shuttles_node",
                tags=["task.preprocess"],
            ),
            node(
                func=preprocess_reviews,
                inputs="reviews",
                outputs="preprocessed_reviews",
                name="preprocess_reviews_node",
                tags=["task.preprocess"],
            ),
            node(
                func=create_model_input_table,
                inputs=[
                    "preprocessed_shuttles",
                    "preprocessed_companies",
                    "preprocessed_reviews",
                    "params:model_input_columns",
                ],
                outputs="model_input_table",
                name="create_model_input_table_node",
                tags=["heavy"],
            ),
        ]
    )
