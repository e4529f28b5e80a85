"""Behaviour of the appliance as plain functions and classes, with no Flask import.

Routes, the CLI and the workers all call these, so a rule lives in one place.
"""
