"""Jenkins as the pipeline engine: the client, job and view XML, sync, builds, the executor."""
