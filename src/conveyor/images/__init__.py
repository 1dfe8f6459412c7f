"""Images: the base image, build contexts, building, the registry and the Docker engine."""
