"""How the SDK engine picks its credentials, as the Databricks CLI picks them for bundle
commands (its own tests, named in the cases, are the oracle): the profile is `--profile`, else
DATABRICKS_CONFIG_PROFILE, else the target's `workspace.profile`, else the one profile of the
config file for the bundle's host when the environment holds no credential; a chosen profile's
token and host win over DATABRICKS_TOKEN and DATABRICKS_HOST. A profile for another host than
the bundle's is refused before anything is sent to either host, a profile that is not there is
refused naming the config file, and a host that is not a URL is refused naming where it came
from. Each refusal is one line and exit 2."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.deploy_helpers import copy_example, dab, error_lines, output, with_dev_workspace
from tests.fake_workspace import FakeWorkspace

pytestmark = pytest.mark.e2e

NO_ENV_AUTH = {"DATABRICKS_HOST": "", "DATABRICKS_TOKEN": ""}
"""Empty values count as unset for databricks-sdk: the profile is the only credential."""


@pytest.fixture
def other_workspace() -> Iterator[FakeWorkspace]:
    """A second fake workspace, the host of a profile that is not the bundle's."""
    with FakeWorkspace() as workspace:
        yield workspace
    assert not workspace.internal_errors, workspace.internal_errors


def config_file(folder: Path, profiles: dict[str, FakeWorkspace]) -> Path:
    """A `.databrickscfg` with one token profile per fake workspace."""
    path = folder / "databrickscfg"
    path.write_text(
        "".join(
            f"[{name}]\nhost = {ws.host}\ntoken = {ws.token}\n\n" for name, ws in profiles.items()
        )
    )
    return path


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command printed, after checking it printed only that."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, output(result)
    assert len(lines) == 1 and lines == error_lines(result), output(result)
    return lines[0]


def test_a_profile_for_another_host_than_the_bundles_is_refused_before_any_request(
    fake_workspace: FakeWorkspace, other_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = with_dev_workspace(copy_example(tmp_path), host=fake_workspace.host)
    cfg = config_file(tmp_path, {"other": other_workspace})
    env = {**NO_ENV_AUTH, "DATABRICKS_CONFIG_FILE": str(cfg)}

    result = dab(
        project, fake_workspace, "deploy", "--engine", "sdk", "--profile", "other", env=env
    )

    line = refused(result)
    assert "'other'" in line and "--profile" in line
    assert fake_workspace.host in line and other_workspace.host in line
    assert other_workspace.token not in result.stdout + result.stderr
    assert fake_workspace.log == [] and other_workspace.log == []


def test_DATABRICKS_CONFIG_PROFILE_for_another_host_than_the_bundles_is_refused_the_same_way(
    fake_workspace: FakeWorkspace, other_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = with_dev_workspace(copy_example(tmp_path), host=fake_workspace.host)
    cfg = config_file(tmp_path, {"other": other_workspace})
    env = {**NO_ENV_AUTH, "DATABRICKS_CONFIG_FILE": str(cfg), "DATABRICKS_CONFIG_PROFILE": "other"}

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", env=env)

    line = refused(result)
    assert "DATABRICKS_CONFIG_PROFILE" in line and "'other'" in line
    assert fake_workspace.host in line and other_workspace.host in line
    assert fake_workspace.log == [] and other_workspace.log == []


def test_a_chosen_profile_s_host_wins_over_DATABRICKS_HOST_when_the_bundle_names_none(
    fake_workspace: FakeWorkspace, other_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    """The CLI's `TestWorkspaceClientProfileOverridesAuthEnv` (#5096): a direnv-style
    DATABRICKS_HOST and DATABRICKS_TOKEN for one workspace, a profile for another."""
    project = copy_example(tmp_path)  # no workspace.host in databricks.yml
    cfg = config_file(tmp_path, {"other": other_workspace})
    env = {"DATABRICKS_CONFIG_FILE": str(cfg)}

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", "-p", "other", env=env)

    assert result.returncode == 0, output(result)
    assert len(other_workspace.jobs) == 1
    assert fake_workspace.log == []


def with_profile_in_bundle(project: Path, profile: str, **settings: str) -> Path:
    """The example with `workspace.profile` (and `settings`) set for its dev target."""
    return with_dev_workspace(project, profile=profile, **settings)


def test_workspace_profile_in_databricks_yml_is_the_profile_used(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = with_profile_in_bundle(copy_example(tmp_path), "mine")
    cfg = config_file(tmp_path, {"mine": fake_workspace})
    env = {**NO_ENV_AUTH, "DATABRICKS_CONFIG_FILE": str(cfg)}

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", env=env)

    assert result.returncode == 0, output(result)
    assert len(fake_workspace.jobs) == 1


def test_a_workspace_profile_for_another_host_than_the_bundles_is_refused_naming_the_key(
    fake_workspace: FakeWorkspace, other_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = with_profile_in_bundle(copy_example(tmp_path), "other", host=fake_workspace.host)
    cfg = config_file(tmp_path, {"other": other_workspace})
    env = {**NO_ENV_AUTH, "DATABRICKS_CONFIG_FILE": str(cfg)}

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", env=env)

    line = refused(result)
    assert "'other'" in line and "workspace.profile in databricks.yml" in line, line
    assert fake_workspace.log == [] and other_workspace.log == []


WRONG_TOKEN = "dapi-not-this-workspaces-token"


@pytest.mark.parametrize(
    "chosen_by", ["--profile", "DATABRICKS_CONFIG_PROFILE", "workspace.profile"]
)
def test_a_chosen_profile_s_token_wins_over_DATABRICKS_TOKEN(
    fake_workspace: FakeWorkspace, tmp_path: Path, chosen_by: str
) -> None:
    """The CLI's `TestWorkspaceClientHostAndProfileOverridesAuthEnv` (#5096)."""
    project = with_dev_workspace(copy_example(tmp_path), host=fake_workspace.host)
    cfg = config_file(tmp_path, {"mine": fake_workspace})
    env = {"DATABRICKS_TOKEN": WRONG_TOKEN, "DATABRICKS_CONFIG_FILE": str(cfg)}
    args = ["deploy", "--engine", "sdk"]
    if chosen_by == "--profile":
        args += ["--profile", "mine"]
    elif chosen_by == "DATABRICKS_CONFIG_PROFILE":
        env["DATABRICKS_CONFIG_PROFILE"] = "mine"
    else:
        with_profile_in_bundle(project, "mine")

    result = dab(project, fake_workspace, *args, env=env)

    assert result.returncode == 0, output(result)
    assert len(fake_workspace.jobs) == 1


def test_DATABRICKS_CONFIG_PROFILE_wins_over_workspace_profile_in_databricks_yml(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    """The CLI applies the --profile flag, else DATABRICKS_CONFIG_PROFILE, over the bundle's
    `workspace.profile` (`configureProfile` in its cmd/root/bundle.go)."""
    project = with_profile_in_bundle(copy_example(tmp_path), "not-in-the-file")
    cfg = config_file(tmp_path, {"mine": fake_workspace})
    env = {**NO_ENV_AUTH, "DATABRICKS_CONFIG_FILE": str(cfg), "DATABRICKS_CONFIG_PROFILE": "mine"}

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", env=env)

    assert result.returncode == 0, output(result)
    assert len(fake_workspace.jobs) == 1


def test_without_a_profile_or_credentials_the_one_profile_for_the_bundles_host_is_used(
    fake_workspace: FakeWorkspace, other_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    """What `databricks auth login --host` then `bundle deploy` relies on: the CLI resolves
    the profile from the bundle's host (`ResolveProfileFromHost`)."""
    project = with_dev_workspace(copy_example(tmp_path), host=fake_workspace.host)
    cfg = config_file(tmp_path, {"other": other_workspace, "mine": fake_workspace})
    env = {**NO_ENV_AUTH, "DATABRICKS_CONFIG_FILE": str(cfg)}

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", env=env)

    assert result.returncode == 0, output(result)
    assert len(fake_workspace.jobs) == 1
    assert other_workspace.log == []


def test_two_profiles_for_the_bundles_host_and_none_chosen_are_refused_naming_both(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = with_dev_workspace(copy_example(tmp_path), host=fake_workspace.host)
    cfg = config_file(tmp_path, {"one": fake_workspace, "two": fake_workspace})
    env = {**NO_ENV_AUTH, "DATABRICKS_CONFIG_FILE": str(cfg)}

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", env=env)

    line = refused(result)
    assert "one, two" in line and "--profile" in line, line
    assert fake_workspace.log == []


def test_the_profiles_token_is_used_when_its_host_is_the_bundles_spelt_otherwise(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = with_dev_workspace(copy_example(tmp_path), host=fake_workspace.host)
    cfg = tmp_path / "databrickscfg"
    spelt = fake_workspace.host.replace("http://", "HTTP://") + "/"
    cfg.write_text(f"[same]\nhost = {spelt}\ntoken = {fake_workspace.token}\n")
    env = {**NO_ENV_AUTH, "DATABRICKS_CONFIG_FILE": str(cfg)}

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", "--profile", "same", env=env)

    assert result.returncode == 0, output(result)
    assert len(fake_workspace.jobs) == 1


def test_a_profile_when_the_config_file_does_not_exist_is_refused(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = copy_example(tmp_path)
    missing = tmp_path / "nowhere.cfg"
    env = {"DATABRICKS_CONFIG_FILE": str(missing)}

    result = dab(
        project, fake_workspace, "deploy", "--engine", "sdk", "--profile", "nosuch", env=env
    )

    line = refused(result)
    assert f"profile 'nosuch' not found: {missing} does not exist" in line
    assert fake_workspace.log == [] and fake_workspace.jobs == {}


def test_DATABRICKS_CONFIG_PROFILE_when_the_config_file_does_not_exist_is_refused(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = copy_example(tmp_path)
    missing = tmp_path / "nowhere.cfg"
    env = {"DATABRICKS_CONFIG_FILE": str(missing), "DATABRICKS_CONFIG_PROFILE": "nosuch"}

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk", env=env)

    line = refused(result)
    assert f"profile 'nosuch' not found: {missing} does not exist" in line
    assert "DATABRICKS_CONFIG_PROFILE" in line
    assert fake_workspace.log == [] and fake_workspace.jobs == {}


def test_a_profile_the_config_file_lacks_is_one_line_listing_the_files_profiles(
    fake_workspace: FakeWorkspace, other_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = copy_example(tmp_path)
    cfg = config_file(tmp_path, {"alpha": fake_workspace, "beta": other_workspace})
    env = {**NO_ENV_AUTH, "DATABRICKS_CONFIG_FILE": str(cfg)}

    result = dab(
        project, fake_workspace, "deploy", "--engine", "sdk", "--profile", "nosuch", env=env
    )

    line = refused(result)
    assert f"profile 'nosuch' not found in {cfg}" in line
    assert "alpha, beta" in line
    assert fake_workspace.log == [] and other_workspace.log == []


def test_a_DATABRICKS_HOST_that_is_not_a_url_is_one_line_naming_it(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = copy_example(tmp_path)

    result = dab(
        project, fake_workspace, "deploy", "--engine", "sdk", env={"DATABRICKS_HOST": "not a url"}
    )

    line = refused(result)
    assert "DATABRICKS_HOST" in line and "'not a url'" in line and "https://" in line
    assert "report it" not in line


def test_a_workspace_host_in_databricks_yml_that_is_not_a_url_is_one_line_naming_it(
    fake_workspace: FakeWorkspace, tmp_path: Path
) -> None:
    project = with_dev_workspace(copy_example(tmp_path), host="not a url")

    result = dab(project, fake_workspace, "deploy", "--engine", "sdk")

    line = refused(result)
    assert "workspace.host" in line and "databricks.yml" in line and "'not a url'" in line
    assert fake_workspace.log == []
