"""The app edges: a hub, its config, serving it, the demo, import/export files."""
