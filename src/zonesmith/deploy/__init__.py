"""Deploy: getting a build onto the live servers (transports, installing on a target, plans)."""
