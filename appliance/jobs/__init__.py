"""The job engine: queues, lifecycle, leases and events."""
