"""camaudit.inventory package."""
