"""hiercat: put every product of many shops into one product taxonomy from its title, brand and image."""

__version__ = "0.1.0"
