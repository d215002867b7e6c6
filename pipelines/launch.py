"""`funnel run`'s Dagster run: created under funnel_job of the code location `make ui` serves, executed in
this process, in the foreground.

A run made by JobDefinition.execute_in_process (or `dagster job execute`) carries no code location:
the UI lists it in the global run list only, never under its job (the job's Runs tab filters on the
`.dagster/repository` tag a run gets from its remote job origin), the Overview timeline leaves it out,
and the daemon's run-status sensors skip it. So the run is created as `dagster job launch` creates one,
with the remote job's origin and its Python origin, taken from the code location loaded here under the
name `make ui` gives it; and it is executed here as a launched run's worker executes it (execute_run),
not handed to the run launcher: the output, the exit code and what a kill -9 leaves stay this
process's. Dagster has no public API for either half; these are the functions its own CLI uses.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
from dagster._core.execution.api import execute_run
from dagster._core.execution.job_execution_result import JobExecutionResult
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.workspace.load_target import ModuleTarget

from assets.core import settings

# What `make ui` serves (`dagster dev -m pipelines.definitions`, no location name given): Dagster names
# the code location after the module. tests/unit/test_definitions.py holds the Makefile to it.
DEFINITIONS_MODULE = "pipelines.definitions"
JOB_NAME = "funnel_job"


def ui_load_target() -> ModuleTarget:
    """The workspace target `dagster dev -m pipelines.definitions` builds, run from the project folder."""
    return ModuleTarget(module_name=DEFINITIONS_MODULE, attribute=None,
                        working_directory=str(settings.PROJECT_ROOT), location_name=None)


def code_location_origin() -> InProcessCodeLocationOrigin:
    """That code location, loaded in this process: same module, same location name (the UI files runs
    by location and repository names, whatever process loaded the code)."""
    [served] = ui_load_target().create_origins()
    return InProcessCodeLocationOrigin(served.loadable_target_origin, location_name=served.location_name)


def run_in_foreground(instance: dg.DagsterInstance, run_id: str, run_config: Mapping,
                      tags: Mapping[str, str]) -> JobExecutionResult:
    """Create the run of funnel_job with its code location's origins and execute it here, to its end.
    The result reads as execute_in_process's does (events, success, check evaluations)."""
    with code_location_origin().create_location(instance) as location:
        [repository] = location.get_repositories().values()
        remote_job = repository.get_full_job(JOB_NAME)
        job = location.get_reconstructable_job(repository.name, JOB_NAME)
        run = instance.create_run_for_job(
            job_def=job.get_definition(), run_id=run_id, run_config=dict(run_config),
            tags={**remote_job.tags, **tags},
            remote_job_origin=remote_job.get_remote_origin(), job_code_origin=remote_job.get_python_origin())
        return execute_run(job, run, instance)
