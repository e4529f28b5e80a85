"""Tests of appliance.services."""
