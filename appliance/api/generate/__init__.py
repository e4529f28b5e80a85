"""Interactive generation: previews, small mock datasets in one request, and fabricate plans."""
