"""ICS scenario packs: the seed-compatible front of the scenario_fabricate kind."""
