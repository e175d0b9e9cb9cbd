"""camaudit.lab package."""
