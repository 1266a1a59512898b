"""The ``inference`` pipeline: quote prices for shuttles a caller describes.

Served as the ``price-shuttle`` endpoint (``serving:`` in ``conf/base/dab.yml``): each request
feeds ``shuttles`` (records of shuttle features) and may set ``params:pricing.discount``; the
trained ``active_modelling_pipeline.regressor`` is loaded once when the server starts. The
batch job does not run this pipeline (see ``pipeline_registry.py``).
"""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import price_shuttles, shuttle_features


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                func=shuttle_features,
                inputs=["shuttles_to_price", "regressor"],
                outputs="shuttle_feature_matrix",
                name="shuttle_features_node",
            ),
            node(
                func=price_shuttles,
                inputs=["regressor", "shuttle_feature_matrix", "params:pricing"],
                outputs="price_quotes",
                name="price_shuttles_node",
            ),
        ],
        inputs={"regressor": "active_modelling_pipeline.regressor"},
        tags=["inference"],
    )
