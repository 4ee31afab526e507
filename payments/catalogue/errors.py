class CatalogueImportError(Exception):
    """The import stopped before writing anything; the message names the object and what to do."""
