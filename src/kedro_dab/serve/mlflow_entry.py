"""The code of an exported endpoint model (MLflow's models-from-code): MLflow runs this file
when it loads the model, and the model is `kedro_dab.serve.mlflow_model`'s `EndpointModel`."""

import mlflow.models

from kedro_dab.serve.mlflow_model import endpoint_model

mlflow.models.set_model(endpoint_model())
