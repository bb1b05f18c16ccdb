"""``make airflow``: ``airflow standalone`` with a known admin login, on the local warehouse.

Airflow 3's standalone mode uses the simple auth manager, which reads user passwords from a
JSON file. We write that file from AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD (local
defaults: admin / admin) so people and scripts can log in and call the REST API.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> None:
    user = os.environ.get("AIRFLOW_ADMIN_USER", "admin")
    password = os.environ.get("AIRFLOW_ADMIN_PASSWORD", "admin")
    passwords = Path(os.environ["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json"
    passwords.write_text(json.dumps({user: password}), encoding="utf-8")
    passwords.chmod(0o600)
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = f"{user}:admin"
    os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(passwords)
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    print(f"Airflow UI and REST API: http://localhost:{port}  (log in as {user!r}, password from "
          f"AIRFLOW_ADMIN_PASSWORD, default 'admin'). Ctrl-C stops it.", flush=True)
    airflow = str(Path(sys.executable).with_name("airflow"))
    os.execv(airflow, [airflow, "standalone"])


if __name__ == "__main__":
    main()
