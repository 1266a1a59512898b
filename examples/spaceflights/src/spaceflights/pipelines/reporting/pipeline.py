"""The ``reporting`` pipeline: summaries of the data and of both models.

Every node carries the tag ``task.reporting``, so the ``by: tag`` rule of
``conf/base/dab.yml`` makes them one task, ``reporting``. ``model_comparison``
is produced and consumed inside it, so it stays in memory;
``shuttle_price_summary`` and ``spaceflights_report`` are persisted outputs.
"""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import compare_models, summarise_shuttle_prices, write_report


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                func=summarise_shuttle_prices,
                inputs=["model_input_table", "params:reporting.group_by"],
                outputs="shuttle_price_summary",
                name="summarise_shuttle_prices_node",
            ),
            node(
                func=compare_models,
                inputs=["active_model_metrics", "candidate_model_metrics"],
                outputs="model_comparison",  # in memory: stays inside task "reporting"
                name="compare_models_node",
            ),
            node(
                func=write_report,
                inputs=["shuttle_price_summary", "model_comparison"],
                outputs="spaceflights_report",
                name="write_report_node",
            ),
        ],
        tags=["task.reporting"],
    )
