"""The SDK engine reads a bundle as `databricks bundle deploy` does (Databricks CLI v1.13.0).

Each expected value states the CLI's behaviour (its mutators `FixPermissions`,
`ApplyBundlePermissions`, `SetVariables`, `ApplyTargetMode`, `ApplyPresets`, `MergeJobTasks`,
`JobClustersFixups`, `DropEmptyStrings`, `metadata.AnnotateJobs`, and its recorded acceptance
outputs); none is computed by the code under test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kedro_dab.bundle.root import go_glob
from kedro_dab.deploy.refusals import UnsupportedBundle
from kedro_dab.deploy.sync import synced
from kedro_dab.deploy.target import load_target
from kedro_dab.errors import ConfigError, DabError
from tests.conformance.engine import USER, engine_view

SHORT = "tester"
WHEEL_TASK = {"package_name": "p", "entry_point": "p"}


def write(root: Path, files: dict[str, Any]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
    return root


def bundle(root: Path, config: dict[str, Any], **files: Any) -> Path:
    return write(root, {"databricks.yml": {"bundle": {"name": "b"}, **config}, **files})


def job(name: str = "j", **settings: Any) -> dict[str, Any]:
    tasks = settings.pop("tasks", [{"task_key": "t", "python_wheel_task": WHEEL_TASK}])
    return {"name": name, "tasks": tasks, **settings}


def one_job(root: Path, target: str | None = None, **kwargs: Any) -> dict[str, Any]:
    (settings,) = engine_view(root, target, **kwargs)["jobs"].values()
    return settings


def refusal(root: Path, target: str | None = None, **kwargs: Any) -> str:
    with pytest.raises(DabError) as caught:
        engine_view(root, target, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- permissions ----------------------------------------------------------------------------


def test_the_deploying_users_can_manage_becomes_is_owner(tmp_path: Path) -> None:
    root = bundle(
        tmp_path,
        {
            "resources": {"jobs": {"j": job()}},
            "targets": {
                "prod": {
                    "mode": "production",
                    "workspace": {"root_path": "/Workspace/Shared/b"},
                    "permissions": [{"user_name": USER, "level": "CAN_MANAGE"}],
                }
            },
        },
    )
    assert one_job(root)["permissions"] == [{"level": "IS_OWNER", "user_name": USER}]


def test_target_permissions_are_added_to_the_top_level_ones(tmp_path: Path) -> None:
    root = bundle(
        tmp_path,
        {
            "resources": {"jobs": {"j": job()}},
            "permissions": [{"group_name": "readers", "level": "CAN_VIEW"}],
            "targets": {"t": {"permissions": [{"group_name": "ops", "level": "CAN_RUN"}]}},
        },
    )
    assert one_job(root)["permissions"] == [
        {"level": "CAN_VIEW", "group_name": "readers"},
        {"level": "CAN_MANAGE_RUN", "group_name": "ops"},
        {"level": "IS_OWNER", "user_name": USER},
    ]


def test_a_job_level_permission_takes_precedence_over_the_bundles_for_that_principal(
    tmp_path: Path,
) -> None:
    root = bundle(
        tmp_path,
        {
            "resources": {
                "jobs": {"j": job(permissions=[{"group_name": "ops", "level": "CAN_VIEW"}])}
            },
            "permissions": [{"group_name": "ops", "level": "CAN_MANAGE"}],
        },
    )
    assert one_job(root)["permissions"] == [
        {"level": "CAN_VIEW", "group_name": "ops"},
        {"level": "IS_OWNER", "user_name": USER},
    ]


def test_each_principal_keeps_its_highest_level_once(tmp_path: Path) -> None:
    # acceptance/bundle/validate/permissions: CAN_MANAGE_RUN wins over CAN_VIEW in either order
    perms = [
        {"level": "CAN_MANAGE_RUN", "user_name": "a@x.com"},
        {"level": "CAN_VIEW", "user_name": "a@x.com"},
    ]
    root = bundle(tmp_path, {"resources": {"jobs": {"j": job(permissions=perms)}}})
    assert one_job(root)["permissions"] == [
        {"level": "CAN_MANAGE_RUN", "user_name": "a@x.com"},
        {"level": "IS_OWNER", "user_name": USER},
    ]


def test_with_another_owner_named_the_deploying_user_gets_can_manage(tmp_path: Path) -> None:
    perms = [{"level": "IS_OWNER", "service_principal_name": "sp-1"}]
    root = bundle(tmp_path, {"resources": {"jobs": {"j": job(permissions=perms)}}})
    assert one_job(root)["permissions"] == [
        {"level": "IS_OWNER", "service_principal_name": "sp-1"},
        {"level": "CAN_MANAGE", "user_name": USER},
    ]


def test_a_job_without_any_permissions_sends_no_acl(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"resources": {"jobs": {"j": job()}}})
    assert "permissions" not in one_job(root)


def test_a_top_level_permission_level_the_cli_refuses_is_refused(tmp_path: Path) -> None:
    root = bundle(
        tmp_path,
        {
            "resources": {"jobs": {"j": job()}},
            "permissions": [{"group_name": "ops", "level": "IS_OWNER"}],
        },
    )
    assert "invalid permission level: IS_OWNER" in refusal(root)


# --- variables ------------------------------------------------------------------------------


def env_bundle(root: Path, variables: dict[str, Any], **settings: Any) -> Path:
    return bundle(root, {"variables": variables, "resources": {"jobs": {"j": job(**settings)}}})


def test_bundle_var_environment_variables_override_the_default(tmp_path: Path) -> None:
    root = env_bundle(tmp_path, {"env": {"default": "databricks"}}, description="${var.env}")
    assert one_job(root, environ={"BUNDLE_VAR_env": "prod"})["description"] == "prod"


def test_a_ci_deploy_with_bundle_var_kedro_env_runs_the_examples_tasks_with_that_env(
    tmp_path: Path,
) -> None:
    from tests.e2e.deploy_helpers import copy_example

    example = copy_example(tmp_path)
    view = engine_view(
        example, "dev", environ={"BUNDLE_VAR_kedro_env": "prod"}, local_artifact=lambda v: v
    )
    for task in view["jobs"]["spaceflights"]["tasks"]:
        parameters = task["python_wheel_task"]["parameters"]
        assert parameters[parameters.index("--env") + 1] == "prod"


def test_var_overrides_win_over_bundle_var_environment_variables(tmp_path: Path) -> None:
    root = env_bundle(tmp_path, {"env": {"default": "databricks"}}, description="${var.env}")
    settings = one_job(root, environ={"BUNDLE_VAR_env": "prod"}, variables={"env": "qa"})
    assert settings["description"] == "qa"


def test_a_variable_set_only_through_bundle_var_is_accepted(tmp_path: Path) -> None:
    root = env_bundle(tmp_path, {"env": {"description": "no default"}}, description="${var.env}")
    assert one_job(root, environ={"BUNDLE_VAR_env": "prod"})["description"] == "prod"


@pytest.mark.parametrize("declaration", [None, {"description": "no default"}])
def test_a_variable_declared_without_a_value_is_required(tmp_path: Path, declaration) -> None:
    root = env_bundle(tmp_path, {"env": declaration}, description="${var.env}")
    message = refusal(root)
    assert "no value assigned to required variable env" in message
    assert "BUNDLE_VAR_env" in message


def test_the_variable_overrides_file_gives_a_value_below_the_environment(tmp_path: Path) -> None:
    root = env_bundle(tmp_path, {"env": {"default": "d"}, "other": {"default": "d"}})
    root = write(
        root,
        {
            ".databricks/bundle/default/variable-overrides.json": '{"env": "file", "other": "f"}',
            "databricks.yml": {
                "bundle": {"name": "b"},
                "variables": {"env": {"default": "d"}, "other": {"default": "d"}},
                "resources": {"jobs": {"j": job(description="${var.env} ${var.other}")}},
            },
        },
    )
    assert one_job(root, environ={"BUNDLE_VAR_env": "env"})["description"] == "env f"


def test_references_inside_variable_values_are_resolved(tmp_path: Path) -> None:
    root = env_bundle(
        tmp_path,
        {
            "owner": {"default": "${workspace.current_user.short_name}"},
            "label": {"default": "${var.owner}-${bundle.target}"},
        },
        description="${var.label}",
    )
    assert one_job(root)["description"] == f"{SHORT}-default"


def test_a_cycle_between_variables_is_an_error_naming_it(tmp_path: Path) -> None:
    root = env_bundle(
        tmp_path,
        {"a": {"default": "${var.b}"}, "b": {"default": "${var.a}"}},
        description="${var.a}",
    )
    assert "cycle detected in field resolution" in refusal(root)


def test_number_and_boolean_variables_keep_their_types(tmp_path: Path) -> None:
    # acceptance/bundle/variables/resolve-nonstrings: a whole-value reference keeps the type
    root = env_bundle(
        tmp_path,
        {"runs": {"default": 3}, "retry": {"default": True}},
        max_concurrent_runs="${var.runs}",
        description="retry=${var.retry}",
        tasks=[
            {"task_key": "t", "python_wheel_task": WHEEL_TASK, "retry_on_timeout": "${var.retry}"}
        ],
    )
    settings = one_job(root)
    assert settings["max_concurrent_runs"] == 3
    assert settings["tasks"][0]["retry_on_timeout"] is True
    assert settings["description"] == "retry=true"


def test_a_complex_variable_used_whole_is_substituted(tmp_path: Path) -> None:
    cluster = {"spark_version": "15.4.x-scala2.12", "num_workers": 2}
    root = env_bundle(
        tmp_path,
        {"cluster": {"type": "complex", "default": cluster}},
        job_clusters=[{"job_cluster_key": "c", "new_cluster": "${var.cluster}"}],
    )
    assert one_job(root)["job_clusters"] == [{"job_cluster_key": "c", "new_cluster": cluster}]


def test_a_complex_variable_cannot_be_set_through_the_environment(tmp_path: Path) -> None:
    root = env_bundle(tmp_path, {"c": {"type": "complex", "default": {"a": 1}}}, tags="${var.c}")
    assert "not supported for complex variable c" in refusal(root, environ={"BUNDLE_VAR_c": "{}"})


# --- target merging -------------------------------------------------------------------------


def test_a_target_library_is_added_to_the_tasks_libraries(tmp_path: Path) -> None:
    base = [{"whl": "/Volumes/w/project.whl"}]
    extra = [{"pypi": {"package": "tabulate"}}]
    root = bundle(
        tmp_path,
        {
            "resources": {
                "jobs": {
                    "j": job(
                        tasks=[
                            {"task_key": "t", "python_wheel_task": WHEEL_TASK, "libraries": base}
                        ]
                    )
                }
            },
            "targets": {
                "t": {
                    "resources": {"jobs": {"j": {"tasks": [{"task_key": "t", "libraries": extra}]}}}
                }
            },
        },
    )
    assert one_job(root)["tasks"][0]["libraries"] == base + extra


def test_a_target_job_parameter_is_added_and_one_of_the_same_name_merged(tmp_path: Path) -> None:
    params = [{"name": "a", "default": "1"}, {"name": "b", "default": "2"}]
    override = [{"name": "b", "default": "20"}, {"name": "c", "default": "3"}]
    root = bundle(
        tmp_path,
        {
            "resources": {"jobs": {"j": job(parameters=params)}},
            "targets": {"t": {"resources": {"jobs": {"j": {"parameters": override}}}}},
        },
    )
    assert one_job(root)["parameters"] == [
        {"name": "a", "default": "1"},
        {"name": "b", "default": "20"},
        {"name": "c", "default": "3"},
    ]


def test_target_notification_lists_are_appended(tmp_path: Path) -> None:
    root = bundle(
        tmp_path,
        {
            "resources": {"jobs": {"j": job(email_notifications={"on_failure": ["a@x.com"]})}},
            "targets": {
                "t": {
                    "resources": {
                        "jobs": {"j": {"email_notifications": {"on_failure": ["b@x.com"]}}}
                    }
                }
            },
        },
    )
    assert one_job(root)["email_notifications"] == {"on_failure": ["a@x.com", "b@x.com"]}


def test_a_job_cluster_key_from_a_variable_merges_into_one_cluster(tmp_path: Path) -> None:
    # acceptance/bundle/override/job_cluster_var; a job cluster without workers sends 0
    root = bundle(
        tmp_path,
        {
            "variables": {"mykey": {"default": "key"}},
            "resources": {
                "jobs": {
                    "j": job(
                        job_clusters=[
                            {"job_cluster_key": "key", "new_cluster": {"spark_version": "13.3"}}
                        ]
                    )
                }
            },
            "targets": {
                "t": {
                    "resources": {
                        "jobs": {
                            "j": {
                                "job_clusters": [
                                    {
                                        "job_cluster_key": "${var.mykey}",
                                        "new_cluster": {"node_type_id": "i3.xlarge"},
                                    }
                                ]
                            }
                        }
                    }
                }
            },
        },
    )
    assert one_job(root)["job_clusters"] == [
        {
            "job_cluster_key": "key",
            "new_cluster": {"spark_version": "13.3", "node_type_id": "i3.xlarge", "num_workers": 0},
        }
    ]


def test_tasks_are_sent_sorted_by_task_key(tmp_path: Path) -> None:
    tasks = [{"task_key": k, "python_wheel_task": WHEEL_TASK} for k in ("b", "c", "a")]
    root = bundle(tmp_path, {"resources": {"jobs": {"j": job(tasks=tasks)}}})
    assert [t["task_key"] for t in one_job(root)["tasks"]] == ["a", "b", "c"]


def test_tasks_as_a_reference_merged_by_a_target_is_refused_cleanly(tmp_path: Path) -> None:
    root = bundle(
        tmp_path,
        {
            "variables": {"tasks": {"type": "complex", "default": []}},
            "resources": {"jobs": {"j": job(tasks="${var.tasks}")}},
            "targets": {"t": {"resources": {"jobs": {"j": {"tasks": [{"task_key": "x"}]}}}}},
        },
    )
    assert "cannot merge" in refusal(root)


# --- development mode and presets -----------------------------------------------------------


def dev_bundle(root: Path, presets: dict[str, Any] | None = None, **settings: Any) -> Path:
    target: dict[str, Any] = {"mode": "development"}
    if presets is not None:
        target["presets"] = presets
    return bundle(root, {"resources": {"jobs": {"j": job(**settings)}}, "targets": {"dev": target}})


def test_development_mode_prefixes_tags_pauses_and_allows_four_runs(tmp_path: Path) -> None:
    root = dev_bundle(
        tmp_path, schedule={"quartz_cron_expression": "0 0 * * * ?", "timezone_id": "UTC"}
    )
    settings = one_job(root)
    assert settings["name"] == f"[dev {SHORT}] j"
    assert settings["tags"] == {"dev": SHORT}
    assert settings["max_concurrent_runs"] == 4
    assert settings["schedule"]["pause_status"] == "PAUSED"


def test_an_empty_name_prefix_preset_still_gets_the_development_prefix(tmp_path: Path) -> None:
    root = dev_bundle(tmp_path, {"name_prefix": ""})
    assert one_job(root)["name"] == f"[dev {SHORT}] j"


def test_presets_win_over_the_development_defaults(tmp_path: Path) -> None:
    root = dev_bundle(
        tmp_path,
        {
            "name_prefix": "[${workspace.current_user.short_name}] ",
            "jobs_max_concurrent_runs": 2,
            "tags": {"dev": "mine"},
        },
    )
    settings = one_job(root)
    assert settings["name"] == f"[{SHORT}] j"
    assert settings["max_concurrent_runs"] == 2
    assert settings["tags"] == {"dev": "mine"}


def test_a_jobs_own_tag_and_max_concurrent_runs_win_over_presets(tmp_path: Path) -> None:
    # acceptance/bundle/validate/presets_tags
    root = bundle(
        tmp_path,
        {
            "resources": {"jobs": {"j": job(tags={"env": "prod"}, max_concurrent_runs=7)}},
            "presets": {"tags": {"env": "dev", "team": "t"}, "jobs_max_concurrent_runs": 3},
        },
    )
    settings = one_job(root)
    assert settings["tags"] == {"env": "prod", "team": "t"}
    assert settings["max_concurrent_runs"] == 7


@pytest.mark.parametrize(
    ("presets", "expected"),
    [
        ({"trigger_pause_status": "UNPAUSED"}, "cannot set trigger pause status to UNPAUSED"),
        ({"name_prefix": "shared "}, "should contain the current username"),
    ],
)
def test_presets_the_cli_refuses_in_development_mode_are_refused(
    tmp_path: Path, presets: dict[str, Any], expected: str
) -> None:
    assert expected in refusal(dev_bundle(tmp_path, presets))


def test_a_development_root_path_without_the_user_is_refused(tmp_path: Path) -> None:
    root = bundle(
        tmp_path,
        {
            "resources": {"jobs": {"j": job()}},
            "targets": {"dev": {"mode": "development", "workspace": {"root_path": "/Shared/b"}}},
        },
    )
    assert "root_path must start with '~/' or contain the current username" in refusal(root)


def test_production_mode_without_an_explicit_root_path_is_refused(tmp_path: Path) -> None:
    root = bundle(
        tmp_path, {"resources": {"jobs": {"j": job()}}, "targets": {"p": {"mode": "production"}}}
    )
    assert "must set 'workspace.root_path'" in refusal(root)


# --- the CLI's per-job defaults ---------------------------------------------------------------


def test_every_job_gets_the_clis_defaults_and_deployment_metadata(tmp_path: Path) -> None:
    root = bundle(
        tmp_path,
        {"resources": {"jobs": {"j": job(trigger={"periodic": {"interval": 1, "unit": "HOURS"}})}}},
    )
    settings = one_job(root)
    assert settings["edit_mode"] == "UI_LOCKED"
    assert settings["queue"] == {"enabled": True}
    assert settings["max_concurrent_runs"] == 1
    assert settings["format"] == "MULTI_TASK"
    assert settings["trigger"]["pause_status"] == "UNPAUSED"
    assert settings["deployment"] == {
        "kind": "BUNDLE",
        "metadata_file_path": f"/Workspace/Users/{USER}/.bundle/b/default/state/metadata.json",
    }


def test_empty_strings_in_optional_fields_are_not_sent(tmp_path: Path) -> None:
    root = env_bundle(tmp_path, {"d": {"default": ""}}, description="${var.d}")
    assert "description" not in one_job(root)


def test_a_cluster_on_an_instance_pool_sends_no_node_type(tmp_path: Path) -> None:
    cluster = {
        "spark_version": "15.4",
        "instance_pool_id": "pool",
        "node_type_id": "i3.xlarge",
        "num_workers": 1,
    }
    root = env_bundle(tmp_path, {}, job_clusters=[{"job_cluster_key": "c", "new_cluster": cluster}])
    assert one_job(root)["job_clusters"][0]["new_cluster"] == {
        "spark_version": "15.4",
        "instance_pool_id": "pool",
        "num_workers": 1,
    }


# --- the shape of a bundle ------------------------------------------------------------------


def test_a_bundle_without_targets_deploys_the_implicit_default_target(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"resources": {"jobs": {"j": job()}}})
    assert engine_view(root)["target"] == "default"


def test_a_job_defined_only_inside_a_target_is_deployed_to_that_target(tmp_path: Path) -> None:
    root = bundle(
        tmp_path,
        {"targets": {"dev": {"resources": {"jobs": {"j": job()}}}, "prod": {}}},
    )
    assert list(engine_view(root, "dev")["jobs"]) == ["j"]
    assert engine_view(root, "prod")["jobs"] == {}


def test_an_include_files_own_targets_are_merged_for_that_target(tmp_path: Path) -> None:
    root = bundle(
        tmp_path,
        {"include": ["resources/*.yml"], "targets": {"dev": {"default": True}, "prod": {}}},
        **{
            "resources/j.yml": {
                "resources": {"jobs": {"j": job()}},
                "targets": {"prod": {"resources": {"jobs": {"j": {"description": "prod"}}}}},
            }
        },
    )
    assert "description" not in one_job(root, "dev")
    assert one_job(root, "prod")["description"] == "prod"


def test_double_star_in_an_include_is_not_recursive(tmp_path: Path) -> None:
    write(tmp_path, {"resources/a.yml": "", "resources/x/b.yml": "", "resources/x/y/c.yml": ""})
    found = [p.relative_to(tmp_path).as_posix() for p in go_glob(tmp_path, "resources/**/*.yml")]
    assert found == ["resources/x/b.yml"]


def test_an_include_matching_a_non_yaml_file_is_refused(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"include": ["resources/*"]}, **{"resources/notes.txt": "x"})
    assert "not a YAML or JSON file" in refusal(root)


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"sync": {"paths": [".."]}}, "sync.paths"),
        ({"artifacts": {"a": {"type": "jar"}}}, "artifacts.a.type"),
        ({"artifacts": {"a": {"type": "whl", "path": "lib"}}}, "artifacts.a.path"),
        ({"artifacts": {"a": {"files": [{"source": "x.whl"}]}}}, "artifacts.a.files"),
        ({"artifacts": {"a": {}, "b": {}}}, "more than one artifact"),
        (
            {"artifacts": {"a": {"type": "whl", "build": "x", "something": 1}}},
            "artifacts.a.something",
        ),
    ],
)
def test_sync_and_artifact_settings_the_engine_does_not_honour_are_refused(
    tmp_path: Path, config: dict[str, Any], named: str
) -> None:
    root = bundle(tmp_path, {"resources": {"jobs": {"j": job()}}, **config})
    with pytest.raises(UnsupportedBundle) as caught:
        engine_view(root)
    assert named in str(caught.value)
    assert "--engine cli" in str(caught.value)


# --- inputs that used to end in a traceback -------------------------------------------------


def test_a_job_with_empty_tasks_has_no_tasks(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"resources": {"jobs": {"j": {"name": "j", "tasks": None}}}})
    assert "tasks" not in one_job(root)


def test_a_job_defined_as_null_is_refused_naming_it(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"resources": {"jobs": {"j": None}}})
    with pytest.raises(ConfigError) as caught:
        engine_view(root)
    assert "resources.jobs.j" in str(caught.value)


# --- file sync ------------------------------------------------------------------------------

CONF = ["conf/base/catalog.yml", "conf/base/parameters.yml", "conf/databricks/spark.yml"]


def synced_of(root: Path, sync: dict[str, Any] | None = None, gitignore: str = "") -> list[str]:
    config: dict[str, Any] = {"resources": {"jobs": {"j": job()}}}
    if sync:
        config["sync"] = sync
    bundle(root, config, **({".gitignore": gitignore} if gitignore else {}))
    return synced(load_target(root, None, {}, {}), root, CONF)


def test_sync_exclude_keeps_a_file_from_being_uploaded(tmp_path: Path) -> None:
    kept = synced_of(tmp_path, {"exclude": ["conf/**/parameters.yml"]})
    assert kept == ["conf/base/catalog.yml", "conf/databricks/spark.yml"]


def test_a_gitignored_file_is_not_uploaded(tmp_path: Path) -> None:
    assert synced_of(tmp_path, gitignore="spark.yml\n") == CONF[:2]


def test_a_nested_gitignore_applies_below_its_folder(tmp_path: Path) -> None:
    write(tmp_path, {"conf/base/.gitignore": "catalog.yml\n"})
    assert synced_of(tmp_path) == CONF[1:]


def test_sync_include_uploads_a_gitignored_file(tmp_path: Path) -> None:
    kept = synced_of(
        tmp_path, {"include": ["conf/databricks/*.yml"]}, gitignore="conf/databricks/\n"
    )
    assert kept == CONF
