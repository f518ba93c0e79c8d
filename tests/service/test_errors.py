"""The error codes: one documented list in ``service.errors``, and nothing else is answered."""

import pytest

from service import errors


def test_every_error_code_in_code_is_documented():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.ServiceError)]
    raised = {c.code for c in classes}
    assert raised | set(errors.HTTP_CODES.values()) | {"missing_api_key"} <= set(errors.ERROR_CODES)
    with pytest.raises(ValueError, match="undocumented error code"):
        errors.error_body("http_400", "x")
