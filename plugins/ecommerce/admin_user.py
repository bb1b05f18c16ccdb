"""The Airflow admin login, created or brought up to date: ``python -m ecommerce.admin_user``.

Reads ``AIRFLOW_ADMIN_USER``, ``AIRFLOW_ADMIN_PASSWORD`` and ``AIRFLOW_ADMIN_EMAIL`` (default
admin@example.com). Creates that user of the FAB auth manager with the Admin role or, when it
exists, sets its password to ``AIRFLOW_ADMIN_PASSWORD``: a password changed in .env takes effect
at the next start of ``make airflow`` (``ecommerce_local.services``) or of Docker's
``airflow-init``.

``airflow users create`` leaves an existing user as it is and exits 0, so ``users create ||
users reset-password`` never reset a password. One process does either, through the FAB security
manager those two commands use, and the password comes in the environment, not on a command line
that ``ps`` shows.
"""

from __future__ import annotations

import os
import sys

ROLE = "Admin"
DEFAULT_EMAIL = "admin@example.com"


def ensure_admin(user: str, password: str, email: str = DEFAULT_EMAIL) -> str:
    """Create ``user`` with the Admin role, or set its password; says which, in words."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        security = appbuilder.sm
        existing = security.find_user(username=user)
        if existing is not None:
            if not security.reset_password(existing.id, password):
                raise SystemExit(f"could not set the password of the Airflow user {user!r}")
            return f"Airflow user {user!r}: password set from AIRFLOW_ADMIN_PASSWORD"
        role = security.find_role(ROLE)
        if role is None or not security.add_user(user, "Admin", "User", email, role, password):
            raise SystemExit(f"could not create the Airflow user {user!r} with the {ROLE} role")
        return f"Airflow user {user!r} created with the {ROLE} role"


def main() -> int:
    missing = [name for name in ("AIRFLOW_ADMIN_USER", "AIRFLOW_ADMIN_PASSWORD") if not os.environ.get(name)]
    if missing:
        print(f"set {' and '.join(missing)}", file=sys.stderr)
        return 2
    print(ensure_admin(os.environ["AIRFLOW_ADMIN_USER"], os.environ["AIRFLOW_ADMIN_PASSWORD"],
                       os.environ.get("AIRFLOW_ADMIN_EMAIL") or DEFAULT_EMAIL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
