"""The procedures service: each town's catalog, applications and their workflow."""
