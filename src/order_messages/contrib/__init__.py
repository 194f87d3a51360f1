"""Adapters for store frameworks."""
