"""Datasets: uploads streamed into the blob store, checked by parsing them, then recorded."""
