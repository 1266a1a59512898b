"""The ``data_science`` pipeline: one modelling pipeline, instantiated twice.

Like Kedro's modular spaceflights, the same three nodes are wrapped in two
namespaces, ``active_modelling_pipeline`` and ``candidate_modelling_pipeline``.
Namespacing prefixes node names (``active_modelling_pipeline.train_model_node``),
datasets (``active_modelling_pipeline.X_train``) and parameters
(``params:active_modelling_pipeline.model_options``), except the shared input
``model_input_table`` (kept as is) and the ``metrics`` output, renamed to
``active_model_metrics`` / ``candidate_model_metrics`` for the reporting pipeline
(nodes outside a namespace should not use dotted dataset names).

Grouping for Databricks (see ``conf/base/dab.yml``): these nodes carry no
``task.*`` tag, so the ``by: namespace`` rule places them, one task per namespace.
The split datasets (``X_train`` ... ``y_test``) stay in memory inside that task;
``regressor`` (catalog factory pattern ``{namespace}.regressor``) and the metrics
are persisted.
"""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import evaluate_model, split_data, train_model


def create_pipeline(**kwargs) -> Pipeline:
    modelling = pipeline(
        [
            node(
                func=split_data,
                inputs=["model_input_table", "params:model_options"],
                outputs=["X_train", "X_test", "y_train", "y_test"],
                name="split_data_node",
            ),
            node(
                func=train_model,
                inputs=["X_train", "y_train", "params:model_options"],
                outputs="regressor",
                name="train_model_node",
                tags=["heavy"],
            ),
            node(
                func=evaluate_model,
                inputs=["regressor", "X_test", "y_test"],
                outputs="metrics",
                name="evaluate_model_node",
            ),
        ]
    )
    active = pipeline(
        modelling,
        inputs={"model_input_table"},
        outputs={"metrics": "active_model_metrics"},
        namespace="active_modelling_pipeline",
        tags=["modelling"],
    )
    candidate = pipeline(
        modelling,
        inputs={"model_input_table"},
        outputs={"metrics": "candidate_model_metrics"},
        namespace="candidate_modelling_pipeline",
        tags=["modelling"],
    )
    return active + candidate
