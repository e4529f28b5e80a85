"""Jobs: submit, list, read, cancel, rerun, and the events stream."""
