"""The `grouping` rules of `dab.yml`: how a job's nodes are gathered into tasks (by tag,
namespace, pipeline or node), and the default rules a file without `grouping` gets."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from kedro_dab.config_jobs import Strict


class _Rule(Strict, tag_field="by", frozen=True):
    @property
    def by(self) -> str:
        """The rule's kind, as `dab.yml` names it (`by: tag`)."""
        return str(self.__struct_config__.tag)


class TagRule(_Rule, tag="tag", kw_only=True, frozen=True):
    """Nodes tagged `<prefix><group>` (or one of `tags`) go to the task named after the group."""

    prefix: str | None = None
    tags: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if (self.prefix is None) == (self.tags is None):
            raise ValueError("a tag rule takes exactly one of 'prefix' or 'tags'")
        if self.prefix == "":
            raise ValueError("'prefix' must not be empty: every tag would name a task")


class NamespaceRule(_Rule, tag="namespace", kw_only=True, frozen=True):
    """Nodes go to the task named after their namespace, cut to `depth` levels."""

    depth: Annotated[int, Meta(ge=1)] = 1
    namespaces: tuple[str, ...] | None = None
    """Glob patterns; when given, only namespaces matching one of them are grouped."""


class PipelineRule(_Rule, tag="pipeline", kw_only=True, frozen=True):
    """All nodes of a registered pipeline go to one task named after the pipeline."""

    pipelines: tuple[str, ...] | None = None
    """Pipelines to group; by default each pipeline the job deploys."""


class NodeRule(_Rule, tag="node", kw_only=True, frozen=True):
    """One task per node (also what happens to nodes that no rule matches)."""


Rule = TagRule | NamespaceRule | PipelineRule | NodeRule

DEFAULT_GROUPING: tuple[Rule, ...] = (
    TagRule(prefix="task."),
    NamespaceRule(depth=1),
)
