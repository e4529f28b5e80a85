"""Building blocks shared by every plant: integrator, PID, PLC blocks, sensors, tags and parameters."""
