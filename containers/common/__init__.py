"""Helpers shared by every step image (each image copies this package in)."""
