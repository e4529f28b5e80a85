"""/v1/system: the appliance itself (A/B updates of the OS image, reboot)."""
