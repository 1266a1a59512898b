"""kedro-dab: deploy Kedro projects to Databricks as grouped, validated Asset Bundle jobs."""

__version__ = "0.1.0"
