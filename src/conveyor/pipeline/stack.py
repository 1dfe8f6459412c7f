"""The image under test and its declared dependencies, running on 127.0.0.1 for one stage.

Started by digest, each on a free port on the host network; `{name.address}` placeholders in
the pipeline's env are filled in; always torn down (by label) whatever happens, and the
containers' logs are kept beside the reports when something fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conveyor.config.model import Pipeline
from conveyor.errors import ConveyorError
from conveyor.images import builder as images
from conveyor.images import containers, engine, instance
from conveyor.pipeline import reports
from conveyor.pipeline.context import StageContext

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9-]*)\.address\}")


@dataclass(frozen=True)
class Stack:
    addresses: dict[str, str]  # "self" and each dependency -> 127.0.0.1:port
    digests: dict[str, str]
    log_files: list[Path]

    @property
    def address(self) -> str:
        return self.addresses["self"]

    def fill(self, values: Mapping[str, str], where: str) -> dict[str, str]:
        return fill(values, self.addresses, where)


def fill(values: Mapping[str, str], addresses: Mapping[str, str], where: str) -> dict[str, str]:
    """Replace `{name.address}` placeholders; an unknown name is a config error."""
    def one(match: re.Match[str]) -> str:
        if match.group(1) not in addresses:
            raise ConveyorError(f"{where}: {match.group(0)} names no running service "
                                f"(running: {', '.join(sorted(addresses))})")
        return addresses[match.group(1)]
    return {key: PLACEHOLDER.sub(one, value) for key, value in values.items()}


@contextmanager
def running(ctx: StageContext, stage: str) -> Iterator[Stack]:
    """Start dependencies then the service; yield the addresses; always tear everything down."""
    pipeline = ctx.pipeline
    labels = ctx.session_labels(stage)
    stack = Stack({}, {}, [])
    addresses = stack.addresses
    try:
        for name in pipeline.integration.needs:
            dependency = ctx.config.pipeline(name)
            ctx.progress(f"{stage}: building (or reusing) {name} from the same revision")
            image = images.build(ctx.config, ctx.repo, ctx.revision, name, ctx.progress,
                                 ctx.source).image
            addresses[name] = _start(ctx, dependency, image, addresses, labels, stack, stage)
        image = ctx.image()
        addresses["self"] = _start(ctx, pipeline, image, addresses, labels, stack, stage)
        addresses[pipeline.name] = addresses["self"]
        yield stack
    except BaseException:
        stack.log_files.extend(_keep_logs(ctx, stage, labels))
        raise
    finally:
        removed = containers.remove_labelled({"conveyor.session": labels["conveyor.session"]})
        ctx.progress(f"{stage}: removed {len(removed)} container(s)")


def start_also(ctx: StageContext, stack: Stack, image: images.Image, stage: str) -> str:
    """Start another image of the service under test beside the stack (same dependencies,
    same session, so the stack's teardown removes it too); its address."""
    return _start(ctx, ctx.pipeline, image, dict(stack.addresses), ctx.session_labels(stage),
                  Stack({}, {}, []), stage)


def _start(ctx: StageContext, pipeline: Pipeline, image: images.Image,
           addresses: dict[str, str], labels: Mapping[str, str], stack: Stack,
           stage: str) -> str:
    reference = images.ensure_local(image, ctx.config.settings, ctx.progress)
    env = fill(pipeline.integration.env, addresses, f"{pipeline.file}: integration.env")
    port = containers.free_port()
    name = f"conveyor-{instance.instance_id()}-{stage}-{pipeline.name}-{port}"
    ctx.progress(f"{stage}: starting {pipeline.name} {reference} on 127.0.0.1:{port}")
    started = containers.start(reference, name, port, env=env,
                               labels={**labels, "conveyor.service": pipeline.name})
    stack.digests[pipeline.name] = image.digest
    containers.wait_healthy(started, pipeline.integration.health,
                            timeout=min(pipeline.integration.timeout, 120.0))
    return started.address


def _keep_logs(ctx: StageContext, stage: str, labels: Mapping[str, str]) -> list[Path]:
    """Write every container's logs beside the reports (called when something failed)."""
    kept = []
    try:
        for container in engine.client().containers.list(
                all=True, filters={"label": f"conveyor.session={labels['conveyor.session']}"}):
            kept.append(reports.write_text(ctx.report(f"{stage}-{container.name}.log"),
                                           containers.logs(container.name, tail=500)))
    except Exception as exc:  # noqa: BLE001 - logs are a courtesy; teardown must go on
        ctx.progress(f"{stage}: could not keep container logs: {exc}")
    return kept


def keep_logs(ctx: StageContext, stage: str) -> list[Path]:
    """Keep the logs of the stage's containers while they still run (a failed test)."""
    return _keep_logs(ctx, stage, ctx.session_labels(stage))
