"""The web app: the evidence explorer, the scenario studio and the liquid biopsy in the
browser, thin over the same public API as the CLI. Start it with ``exotwin serve``, or in
Python with ``exotwin.web.app.create_app(Settings(jobs=...))``."""
