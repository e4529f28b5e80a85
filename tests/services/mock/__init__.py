"""Tests of the mock-data engine."""
