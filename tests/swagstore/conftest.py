import pytest
from django.db import connection

from tests.faults.processes import free_port


@pytest.fixture
def database_down(transactional_db):
    """This process's connection points at a port nobody listens on until the test ends."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = free_port()
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)
