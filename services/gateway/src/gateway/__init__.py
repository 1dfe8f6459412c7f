"""gateway: the HTTP/JSON front door of the password-strength gRPC service."""
