"""The scripts that ``panel serve`` runs (:mod:`apexplorer.app.serve`)."""
