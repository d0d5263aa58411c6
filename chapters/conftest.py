"""nbval settings for the chapter notebooks."""


def pytest_collection_modifyitems(items):
    # nbval waits a hard-coded 5 s for each output message after a cell's reply; a loaded CI
    # machine can exceed that while rendering a figure (nbval issues #136, #231).
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = 30
