"""One module per command; each registers itself on catalog.cli.app.app when imported."""
