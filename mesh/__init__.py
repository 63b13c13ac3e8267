"""Transports: the Transport interface, the Meshtastic transport and the LoRa radio simulator."""
