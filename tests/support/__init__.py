"""Helpers shared by the tests: item factories and a network of real station processes."""
