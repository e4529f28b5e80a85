"""Live SCADA runs served over Modbus TCP and OPC UA."""
