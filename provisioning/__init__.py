"""Turning a Raspberry Pi into a hub: hotspot, DNS/DHCP, firewall, systemd, radio."""
