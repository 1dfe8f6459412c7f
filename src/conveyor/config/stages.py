"""The one definition of a pipeline's stages, in order.

The local executor runs this list; a test proves the Jenkinsfile's stages are the same.
"""

from __future__ import annotations

from conveyor.config.model import STAGE_NAMES

STAGES: tuple[str, ...] = STAGE_NAMES
