"""Tests of the rule-based planner."""
