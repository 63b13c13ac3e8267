"""The wire format: frames, the ops body, bits, text, messages, the bundle format."""
