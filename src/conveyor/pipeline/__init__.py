"""A pipeline run: the stages in order (build, unit, integration, performance) against one image."""
