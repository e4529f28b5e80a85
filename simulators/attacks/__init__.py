"""ICS attack library: the technique catalogue, scenario parsing and planning, and their effect on a run."""
