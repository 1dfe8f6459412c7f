"""Password strength: a learned character model combined with zxcvbn, served over gRPC."""
