from tests.support.kedro_projects import project_factory

__all__ = ["project_factory"]
